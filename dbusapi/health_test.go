package dbusapi

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

func TestHealthFromOptions(t *testing.T) {
	base := func(kv ...any) map[string]dbus.Variant {
		o := map[string]dbus.Variant{"rootfs": dbus.MakeVariant("/srv/rootfs")}
		for i := 0; i < len(kv); i += 2 {
			o[kv[i].(string)] = dbus.MakeVariant(kv[i+1])
		}
		return o
	}
	t.Run("docker's HealthConfig", func(t *testing.T) {
		_, s, err := specFromOptions(base("health_test", []string{"CMD-SHELL", "true"}, "health_interval", int64(time.Second),
			"health_retries", int32(4), "health_start_period", int64(2*time.Second), "health_on_failure", "kill"))
		if err != nil {
			t.Fatal(err)
		}
		hc := s.Healthcheck
		if hc == nil || !slices.Equal(hc.Test, []string{"CMD-SHELL", "true"}) || hc.Interval != time.Second || hc.Retries != 4 || hc.StartPeriod != 2*time.Second || s.HealthOnFailure != "kill" {
			t.Fatalf("got %+v %q", hc, s.HealthOnFailure)
		}
	})
	t.Run("no_healthcheck is NONE", func(t *testing.T) {
		_, s, err := specFromOptions(base("no_healthcheck", true))
		if err != nil || s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"NONE"}) {
			t.Fatalf("got %+v, %v", s.Healthcheck, err)
		}
	})
	t.Run("none given, none set", func(t *testing.T) {
		_, s, err := specFromOptions(base())
		if err != nil || s.Healthcheck != nil {
			t.Fatalf("got %+v, %v", s.Healthcheck, err)
		}
	})
	for _, tc := range []struct {
		name string
		o    map[string]dbus.Variant
		want string
	}{
		{"no_healthcheck with an interval", base("no_healthcheck", true, "health_interval", int64(time.Second)), `conflicts with option "health_interval"`},
		{"an interval that is not a number", base("health_interval", "1s"), `option "health_interval"`},
		{"retries out of range", base("health_retries", int64(1)<<40), `option "health_retries"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := specFromOptions(tc.o)
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
