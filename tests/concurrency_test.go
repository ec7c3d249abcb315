//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// slowRuntime installs /opt/berth-test/slow: a runtime that, on run or create,
// touches /opt/berth-test/entered and sleeps 4 s before it execs runc
// (run or create: the first call of a start).
func slowRuntime(t *testing.T) {
	t.Helper()
	must(t, `mkdir -p /opt/berth-test && rm -f /opt/berth-test/entered && cat > /opt/berth-test/slow <<'EOF'
#!/bin/sh
for a in "$@"; do
	case $a in run|create)
		touch /opt/berth-test/entered
		sleep 4
		break
	esac
done
exec runc "$@"
EOF
chmod 755 /opt/berth-test/slow`)
}

// TestPsWhileStarting: a start held up by a slow runtime does not hold up
// readers: `ps -a`, as root and as an unprivileged user, answers while
// that start is still under way.
func TestPsWhileStarting(t *testing.T) {
	fresh(t)
	slowRuntime(t)
	config(t, "[runtimes.slow]\npath = \"/opt/berth-test/slow\"\n")
	runDetached(t, "--name quick -- sleep 1000")
	must(t, "(berthctl run -d --runtime slow --name slowc --rootfs "+rootfs+" -- sleep 1000 >/opt/berth-test/start.out 2>&1; echo $? >/opt/berth-test/start.done) >/dev/null 2>&1 &")
	eventually(t, 30e9, "test -e /opt/berth-test/entered")
	ps := must(t, "berthctl ps -a")
	psUser := must(t, "setpriv --reuid=65534 --regid=65534 --clear-groups berthctl ps -a")
	if _, _, code := sh(t, "test -e /opt/berth-test/start.done"); code == 0 {
		t.Fatalf("ps answered only after the start had returned")
	}
	for _, out := range []string{ps, psUser} {
		if !strings.Contains(out, "quick") || !strings.Contains(out, "slowc") {
			t.Fatalf("ps during the start: %q, want quick and slowc", out)
		}
	}
	// The start itself completes.
	if code := eventually(t, 60e9, "cat /opt/berth-test/start.done"); code != "0" {
		t.Fatalf("start exited %s: %s", code, must(t, "cat /opt/berth-test/start.out"))
	}
	if st := inspectField(t, "slowc", "State"); st != "running" {
		t.Fatalf("slowc: %s", st)
	}
	must(t, "berthctl rm -f slowc quick")
}
