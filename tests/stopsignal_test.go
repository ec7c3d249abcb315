//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestStopAndKillSignalNames: docker's signal table for --stop-signal and
// kill -s, real-time signals included (SIGRTMIN+3 is systemd's halt
// signal, the stop signal of systemd-in-a-container images).
func TestStopAndKillSignalNames(t *testing.T) {
	fresh(t)
	// 37 is SIGRTMIN+3, 36 SIGRTMIN+2 on Linux.
	loop := `-- sh -c 'trap "exit 7" 37; trap "exit 8" 36; trap "exit 9" TERM; echo ready; while :; do sleep 0.1; done'`
	for _, tc := range []struct {
		name, create, act string
		code              string
	}{
		{"stop-signal SIGRTMIN+3", "--stop-signal SIGRTMIN+3", "berthctl stop -t 20 %s", "7"},
		{"stop-signal rtmin+3", "--stop-signal rtmin+3", "berthctl stop -t 20 %s", "7"},
		{"stop-signal 37", "--stop-signal 37", "berthctl stop -t 20 %s", "7"},
		{"kill -s RTMIN+2", "", "berthctl kill -s RTMIN+2 %s", "8"},
		{"kill -s SIGRTMIN+2", "", "berthctl kill -s SIGRTMIN+2 %s", "8"},
		{"kill -s 36", "", "berthctl kill -s 36 %s", "8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := runDetached(t, tc.create+" "+loop)
			eventually(t, 10e9, "berthctl logs "+id+" | grep -q ready")
			must(t, strings.ReplaceAll(tc.act, "%s", id))
			if code := must(t, "berthctl wait "+id); code != tc.code {
				t.Fatalf("exit code %s, want %s", code, tc.code)
			}
			must(t, "berthctl rm "+id)
		})
	}
	for _, bad := range []string{"SIGRTMIN+40", "NOPE", "0", "65", "-3"} {
		t.Run("refused "+bad, func(t *testing.T) {
			before := must(t, "berthctl ps -aq | wc -l")
			if msg := fails(t, "berthctl create --stop-signal "+bad+" --rootfs "+rootfs+" true"); !strings.Contains(msg, `signal "`+bad+`"`) {
				t.Fatalf("message %q does not name the signal", msg)
			}
			if after := must(t, "berthctl ps -aq | wc -l"); after != before {
				t.Fatalf("containers: %s before, %s after", before, after)
			}
		})
	}
}
