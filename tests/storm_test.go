//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// Concurrent start, stop, restart, pause and unpause of one container:
// every run's exit code is the payload's own (a shell as PID 1 ignores
// SIGTERM, so 137 after the stop timeout), never one made up for a run
// that was killed by a clean-up meant for an earlier run of the same
// container (same scope name, same runtime id); every start printed its
// first line, and the container stays manageable.
func TestConcurrentTransitionsKeepRunsApart(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	id := must(t, "berthctl run -d --name storm busybox sh -c 'echo started; sleep 1000'")
	must(t, `for k in 1 2 3 4; do
  for i in 1 2 3 4 5; do
    berthctl restart -t 1 storm & berthctl pause storm & berthctl unpause storm & berthctl start storm & berthctl stop -t 1 storm &
  done 2>/dev/null >/dev/null
  wait
done; true`)
	must(t, "berthctl stop -t 1 storm")
	must(t, "berthctl start storm")
	// Let the last run print and berthd settle what it saw.
	eventually(t, 10*time.Second, `test "$(berthctl inspect -f '{{.State.Status}}' storm)" = running`)
	time.Sleep(time.Second)
	codes := must(t, "journalctl --no-pager -o cat --output-fields=EXIT_CODE MESSAGE_ID=751fa0accfa44ea1a9b99138d411e217 BERTH_CONTAINER_ID="+id+" | grep . | sort | uniq -c")
	for _, l := range strings.Split(codes, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || f[1] != "137" {
			t.Fatalf("exit codes of the runs (count code):\n%s\nwant only 137", codes)
		}
	}
	starts := atoi(t, must(t, "journalctl --no-pager -o cat MESSAGE_ID=$(journalctl --no-pager -o export BERTH_CONTAINER_ID="+id+" BERTH_EVENT=start -n 1 | sed -n 's/^MESSAGE_ID=//p') BERTH_CONTAINER_ID="+id+" | wc -l"))
	lines := atoi(t, must(t, "berthctl logs storm | grep -c started"))
	if starts < 2 || lines != starts {
		t.Fatalf("%d start events, %d 'started' lines: every run must have printed its line", starts, lines)
	}
	must(t, "berthctl rm -f storm")
	if out, _, _ := sh(t, "systemctl list-units --plain --no-legend 'berth-*.scope' | grep -c . ; ls /run/berth/runc | grep -c "+id); strings.TrimSpace(out) != "0\n0" {
		t.Fatalf("left after rm -f (scopes, runtime state): %q", out)
	}
}

// Concurrent restarts of one container each succeed (docker serialises
// them): none fails with "cannot start a running container".
func TestConcurrentRestarts(t *testing.T) {
	fresh(t)
	runDetached(t, "--name rs -- sh -c 'echo started; sleep 1000'")
	out := must(t, `for i in 1 2 3 4 5; do (berthctl restart -t 0 rs >/dev/null 2>/tmp/rs.$i; echo $?) & done | sort | uniq -c; cat /tmp/rs.* | head -5`)
	if strings.TrimSpace(out) != "5 0" {
		t.Fatalf("exit codes of 5 concurrent restarts (count code) and errors:\n%s", out)
	}
	if st := must(t, "berthctl inspect -f '{{.State.Status}}' rs"); st != "running" {
		t.Fatalf("after the restarts: %s", st)
	}
	must(t, "berthctl rm -f rs")
}
