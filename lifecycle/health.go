package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Docker's healthcheck defaults, for a zero field.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
	// MinHealthDuration is docker's lower bound for a duration that is
	// given (not zero).
	MinHealthDuration = time.Millisecond
)

// Healthcheck is docker's HealthConfig (Config.Healthcheck), as the image
// config and the Engine API carry it: Test is [] (inherit), ["NONE"],
// ["CMD", ARG...] or ["CMD-SHELL", COMMAND]; a zero duration or retry
// count means the image's value, else docker's default.
type Healthcheck = dockerspec.HealthcheckConfig

// HealthOnFailure values (podman's --health-on-failure); "" is none.
var healthActions = []string{contract.HealthActionNone, contract.HealthActionKill, contract.HealthActionRestart, contract.HealthActionStop}

// CheckHealthcheck refuses what docker refuses in a healthcheck (a
// duration given below 1 ms, a negative retry count, a test of an unknown
// kind or without a command) and an unknown action on failure; errors
// are InvalidArgument naming the field.
func CheckHealthcheck(hc *Healthcheck, onFailure string) error {
	if onFailure != "" && !slices.Contains(healthActions, onFailure) {
		return invalid("health-on-failure %s: want none, kill, restart or stop", quote(onFailure))
	}
	if hc == nil {
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"health-interval", hc.Interval}, {"health-timeout", hc.Timeout}, {"health-start-period", hc.StartPeriod}, {"health-start-interval", hc.StartInterval}} {
		if d.v != 0 && d.v < MinHealthDuration {
			return invalid("%s %v: cannot be less than %v (0 means the default)", d.name, d.v, MinHealthDuration)
		}
	}
	if hc.Retries < 0 {
		return invalid("health-retries %d: cannot be negative", hc.Retries)
	}
	if len(hc.Test) == 0 {
		return nil
	}
	switch hc.Test[0] {
	case "NONE":
		if len(hc.Test) != 1 {
			return invalid("healthcheck test %q: NONE takes no command", hc.Test)
		}
	case "CMD":
		if len(hc.Test) < 2 || hc.Test[1] == "" {
			return invalid("healthcheck test %q: CMD needs a command", hc.Test)
		}
	case "CMD-SHELL":
		if len(hc.Test) != 2 || hc.Test[1] == "" {
			return invalid("healthcheck test %q: CMD-SHELL takes one shell command", hc.Test)
		}
	default:
		return invalid("healthcheck test %q: want NONE, CMD or CMD-SHELL first", hc.Test)
	}
	return nil
}

// mergeHealthcheck applies docker's merge of the image's healthcheck: a
// container without one takes the image's; one with fields left zero
// takes the image's values for them.
func mergeHealthcheck(spec *Spec, img *Healthcheck) {
	if img == nil {
		return
	}
	if spec.Healthcheck == nil {
		c := *img
		c.Test = slices.Clone(img.Test)
		spec.Healthcheck = &c
		return
	}
	hc := spec.Healthcheck
	if len(hc.Test) == 0 {
		hc.Test = slices.Clone(img.Test)
	}
	if hc.Interval == 0 {
		hc.Interval = img.Interval
	}
	if hc.Timeout == 0 {
		hc.Timeout = img.Timeout
	}
	if hc.StartPeriod == 0 {
		hc.StartPeriod = img.StartPeriod
	}
	if hc.StartInterval == 0 {
		hc.StartInterval = img.StartInterval
	}
	if hc.Retries == 0 {
		hc.Retries = img.Retries
	}
}

// HasHealthcheck reports whether a spec has a healthcheck to run.
func (s *Spec) HasHealthcheck() bool {
	return s.Healthcheck != nil && len(s.Healthcheck.Test) > 1 && (s.Healthcheck.Test[0] == "CMD" || s.Healthcheck.Test[0] == "CMD-SHELL")
}

// monitorHealthcheck is the healthcheck the monitor runs for spec (nil
// without one): defaults applied, CMD-SHELL as /bin/sh -c.
func monitorHealthcheck(s *Spec) *contract.Healthcheck {
	if !s.HasHealthcheck() {
		return nil
	}
	hc := s.Healthcheck
	out := &contract.Healthcheck{
		Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod,
		StartInterval: hc.StartInterval, Retries: hc.Retries, OnFailure: s.HealthOnFailure,
	}
	if hc.Test[0] == "CMD-SHELL" {
		out.Cmd = []string{"/bin/sh", "-c", hc.Test[1]}
	} else {
		out.Cmd = slices.Clone(hc.Test[1:])
	}
	if out.Interval == 0 {
		out.Interval = DefaultHealthInterval
	}
	if out.Timeout == 0 {
		out.Timeout = DefaultHealthTimeout
	}
	if out.StartInterval == 0 {
		out.StartInterval = DefaultHealthStartInterval
	}
	if out.Retries == 0 {
		out.Retries = DefaultHealthRetries
	}
	return out
}

// withHealth adds the container's health state (health.json, which its
// monitor keeps also while berthd is gone) to info.
func (m *Manager) withHealth(info Info) Info {
	if !info.Spec.HasHealthcheck() {
		return info
	}
	h, err := contract.ReadHealth(m.containerDir(info.ID))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("health state unreadable", "container", info.ID, "err", err)
		}
		return info
	}
	info.Health = h
	return info
}

// onHealthNotice signals a health status change that a monitor reported:
// only from root in the container's supervisor cgroup, for its current
// run, with the run's secret. The state itself is read from health.json.
func (m *Manager) onHealthNotice(n contract.HealthNotice, cred *unix.Ucred) {
	m.mu.Lock()
	c := m.containers[n.Container]
	m.mu.Unlock()
	if c == nil || cred == nil || cred.Uid != 0 || !inSupervisor(int(cred.Pid), UnitName(n.Container)) {
		return
	}
	c.mu.Lock()
	run := c.rec.Run
	ok := run != nil && run.ID == n.Run && run.trusts(contract.Exit{Secret: n.Secret})
	info := c.info()
	c.mu.Unlock()
	if !ok {
		m.log.Warn("health notice for another run or without the run's secret: ignored", "container", n.Container)
		return
	}
	info = m.withNetwork(m.withHealth(info))
	// The monitor wrote the health_status event to the journal; the
	// observer (berthd's D-Bus Event signal) hears of it here.
	if n.Status != "" {
		events.Observed(events.Entry(events.HealthStatus(n.Status), "berth-monitor",
			append(eventSubject(info.Record), events.Field{Name: events.FieldHealthStatus, Value: n.Status})...))
	}
	m.events(Event{Kind: EventChanged, Info: info})
}

// HealthcheckRun runs one healthcheck of a running container at once
// (berthctl healthcheck run) through its monitor, and returns the result
// and the health status after it. A container without a healthcheck is
// refused (InvalidArgument), one that is not running too (Conflict).
func (m *Manager) HealthcheckRun(ctx context.Context, ref string) (contract.HealthResult, string, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return contract.HealthResult{}, "", err
	}
	c.mu.Lock()
	name, spec := c.rec.Name, c.rec.Spec
	c.mu.Unlock()
	if !spec.HasHealthcheck() {
		return contract.HealthResult{}, "", fmt.Errorf("container %s has no healthcheck: %w", name, errdefs.ErrInvalidArgument)
	}
	c, run, err := m.liveRun(ctx, ref, OpExec)
	if err != nil {
		return contract.HealthResult{}, "", err
	}
	timeout := monitorHealthcheck(&spec).Timeout + 10*time.Second
	rep, err := contract.Ask(ctx, run.RunDir, contract.Request{Op: contract.OpHealthcheck}, timeout)
	if err != nil {
		return contract.HealthResult{}, "", fmt.Errorf("container %s: healthcheck: %s: %w", name, err, errdefs.ErrUnavailable)
	}
	if rep.Health == nil {
		return contract.HealthResult{}, "", fmt.Errorf("container %s: healthcheck: the monitor gave no result (an older monitor?): %w", name, errdefs.ErrUnavailable)
	}
	c.mu.Lock()
	info := c.info()
	c.mu.Unlock()
	m.events(Event{Kind: EventChanged, Info: m.withNetwork(m.withHealth(info))})
	return *rep.Health, rep.Status, nil
}
