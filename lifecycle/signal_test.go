package lifecycle

import (
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
	}{{"KILL", unix.SIGKILL}, {"SIGTERM", unix.SIGTERM}, {"usr1", unix.SIGUSR1}, {"9", unix.SIGKILL}, {"15", unix.SIGTERM}} {
		got, err := ParseSignal(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"NOPE", "0", "65", "-1", ""} {
		if _, err := ParseSignal(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: want invalid argument, got %v", bad, err)
		}
	}
}
