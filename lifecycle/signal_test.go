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
	}{
		{"KILL", unix.SIGKILL},
		{"SIGTERM", unix.SIGTERM},
		{"usr1", unix.SIGUSR1},
		{"sigusr2", unix.SIGUSR2},
		{"9", unix.SIGKILL},
		{"15", unix.SIGTERM},
		{"SIGRTMIN", 34},
		{"SIGRTMIN+3", 37},
		{"RTMIN+3", 37},
		{"rtmin+3", 37},
		{"SIGRTMAX", 64},
		{"RTMAX-2", 62},
		{"37", 37},
		{"64", 64},
		{"WINCH", unix.SIGWINCH},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("got %v %v, want %v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"NOPE", "SIGNOPE", "0", "65", "-1", "", "RTMIN+40", "RTMIN-1", "SIG", "9x", "1e3"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParseSignal(bad); !errdefs.IsInvalidArgument(err) {
				t.Errorf("want invalid argument, got %v", err)
			}
		})
	}
}
