package lifecycle

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestCheckHealthcheck(t *testing.T) {
	tests := []struct {
		name      string
		hc        *Healthcheck
		onFailure string
		want      string // part of the error; "" for none
	}{
		{"none", nil, "", ""},
		{"zero durations are the defaults", &Healthcheck{Test: []string{"CMD", "true"}}, "", ""},
		{"1 ms is fine", &Healthcheck{Test: []string{"CMD-SHELL", "true"}, Interval: time.Millisecond}, "restart", ""},
		{"interval below 1 ms", &Healthcheck{Interval: time.Microsecond}, "", "health-interval"},
		{"negative timeout", &Healthcheck{Timeout: -time.Second}, "", "health-timeout"},
		{"start period below 1 ms", &Healthcheck{StartPeriod: 1}, "", "health-start-period"},
		{"start interval below 1 ms", &Healthcheck{StartInterval: 999 * time.Microsecond}, "", "health-start-interval"},
		{"negative retries", &Healthcheck{Retries: -1}, "", "health-retries -1: cannot be negative"},
		{"NONE with a command", &Healthcheck{Test: []string{"NONE", "x"}}, "", "NONE takes no command"},
		{"CMD without a command", &Healthcheck{Test: []string{"CMD"}}, "", "CMD needs a command"},
		{"CMD-SHELL with two", &Healthcheck{Test: []string{"CMD-SHELL", "a", "b"}}, "", "one shell command"},
		{"unknown kind", &Healthcheck{Test: []string{"SHELL", "x"}}, "", "want NONE, CMD or CMD-SHELL"},
		{"unknown action", nil, "reboot", "health-on-failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHealthcheck(tc.hc, tc.onFailure)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("got %v, want an invalid argument naming %q", err, tc.want)
			}
		})
	}
}

func TestMergeHealthcheck(t *testing.T) {
	img := &Healthcheck{Test: []string{"CMD", "check"}, Interval: 5 * time.Second, Retries: 4, StartPeriod: time.Minute}
	t.Run("the image's when none is given", func(t *testing.T) {
		s := Spec{}
		mergeHealthcheck(&s, img)
		if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, img.Test) || s.Healthcheck.Retries != 4 {
			t.Fatalf("got %+v", s.Healthcheck)
		}
		s.Healthcheck.Test[1] = "changed"
		if img.Test[1] != "check" {
			t.Fatal("the merge shares the image's test")
		}
	})
	t.Run("fields given win, zero ones come from the image", func(t *testing.T) {
		s := Spec{Healthcheck: &Healthcheck{Interval: time.Second}}
		mergeHealthcheck(&s, img)
		hc := s.Healthcheck
		if !slices.Equal(hc.Test, img.Test) || hc.Interval != time.Second || hc.Retries != 4 || hc.StartPeriod != time.Minute {
			t.Fatalf("got %+v", hc)
		}
	})
	t.Run("--no-healthcheck keeps NONE", func(t *testing.T) {
		s := Spec{Healthcheck: &Healthcheck{Test: []string{"NONE"}}}
		mergeHealthcheck(&s, img)
		if s.HasHealthcheck() || monitorHealthcheck(&s) != nil {
			t.Fatalf("got %+v, want none", s.Healthcheck)
		}
	})
}

func TestMonitorHealthcheck(t *testing.T) {
	s := Spec{Healthcheck: &Healthcheck{Test: []string{"CMD-SHELL", "test -e /tmp/ok"}, Timeout: 2 * time.Second}, HealthOnFailure: "kill"}
	hc := monitorHealthcheck(&s)
	if !slices.Equal(hc.Cmd, []string{"/bin/sh", "-c", "test -e /tmp/ok"}) {
		t.Fatalf("cmd %q", hc.Cmd)
	}
	if hc.Interval != DefaultHealthInterval || hc.Timeout != 2*time.Second || hc.StartInterval != DefaultHealthStartInterval || hc.Retries != DefaultHealthRetries || hc.OnFailure != "kill" {
		t.Fatalf("got %+v", hc)
	}
	s = Spec{Healthcheck: &Healthcheck{Test: []string{"CMD", "/bin/check", "-q"}}}
	if hc := monitorHealthcheck(&s); !slices.Equal(hc.Cmd, []string{"/bin/check", "-q"}) {
		t.Fatalf("cmd %q", hc.Cmd)
	}
}
