package dbusapi

import (
	"context"
	"fmt"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// healthKeys are CreateContainer's healthcheck options: docker's
// HealthConfig (health_test is its Test; durations in nanoseconds),
// no_healthcheck (docker's --no-healthcheck: Test ["NONE"]) and podman's
// health_on_failure.
var healthKeys = []string{
	"health_test", "health_interval", "health_timeout", "health_start_period", "health_start_interval",
	"health_retries", "no_healthcheck", "health_on_failure",
}

// healthFromOptions reads those options into s; lifecycle checks the
// values at create. no_healthcheck with any health_* option is refused,
// as docker's CLI refuses --no-healthcheck with --health-*.
func healthFromOptions(o map[string]dbus.Variant, s *lifecycle.Spec) error {
	var err error
	if s.HealthOnFailure, err = optString(o, "health_on_failure"); err != nil {
		return err
	}
	none, err := optBool(o, "no_healthcheck", false)
	if err != nil {
		return err
	}
	given := false
	for _, k := range healthKeys[:6] {
		if _, ok := o[k]; ok {
			given = true
			if none {
				return fmt.Errorf("option \"no_healthcheck\" conflicts with option %q: %w", k, errdefs.ErrInvalidArgument)
			}
		}
	}
	if none {
		s.Healthcheck = &lifecycle.Healthcheck{Test: []string{"NONE"}}
		return nil
	}
	if !given {
		return nil
	}
	hc := &lifecycle.Healthcheck{}
	if hc.Test, err = optStrings(o, "health_test"); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"health_interval", &hc.Interval}, {"health_timeout", &hc.Timeout}, {"health_start_period", &hc.StartPeriod}, {"health_start_interval", &hc.StartInterval}} {
		v, err := optInt(o, d.name)
		if err != nil {
			return err
		}
		*d.dst = time.Duration(v)
	}
	r, err := optInt(o, "health_retries")
	if err != nil {
		return err
	}
	if r > 1<<31-1 || r < -1<<31 {
		return fmt.Errorf("option \"health_retries\": %d: out of range: %w", r, errdefs.ErrInvalidArgument)
	}
	hc.Retries = int(r)
	s.Healthcheck = hc
	return nil
}

// healthStatus is the Health property: the health status, "" without a
// healthcheck or before its first start.
func healthStatus(i lifecycle.Info) string {
	if i.Health == nil {
		return ""
	}
	return i.Health.Status
}

// RunContainerHealthcheck runs one healthcheck of a running container at
// once (berthctl healthcheck run): the status after it, the check's exit
// code and output (its first 4 KiB), its start and end (µs since the
// epoch).
func (m *manager) RunContainerHealthcheck(sender dbus.Sender, ref string, options map[string]dbus.Variant) (status string, code int32, output string, start, end uint64, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("RunContainerHealthcheck", options); err != nil {
			return err
		}
		res, st, err := m.s.mgr.HealthcheckRun(ctx, ref)
		if err != nil {
			return err
		}
		status, code, output, start, end = st, int32(res.ExitCode), res.Output, micros(res.Start), micros(res.End)
		return nil
	})
	return
}
