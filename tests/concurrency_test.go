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

// TestConcurrentCreates: many creates at once all succeed, each
// container's object is on the bus with its properties, and berthd
// survives (godbus's Export is not safe for concurrent use; berthd once
// crashed under 50 concurrent `run -d` with "Message recipient
// disconnected from message bus without replying").
func TestConcurrentCreates(t *testing.T) {
	fresh(t)
	must(t, "berthctl ps >/dev/null")
	pid := must(t, "systemctl show -p MainPID --value berthd.service")
	out := must(t, `for round in 1 2 3; do
	for i in $(seq 60); do
		( berthctl create --name c$round-$i --rootfs /srv/rootfs -- true >/dev/null || echo "create $round-$i failed" ) &
	done
	wait
	for i in $(seq 60); do
		( busctl get-property io.berth.Engine1 $(busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainer s c$round-$i | cut -d'"' -f2) io.berth.Engine1.Container State >/dev/null || echo "object c$round-$i missing" ) &
	done
	wait
	berthctl rm $(berthctl ps -aq) >/dev/null || echo "rm failed"
done
echo done`)
	if out != "done" {
		t.Fatalf("failures:\n%s", out)
	}
	if now := must(t, "systemctl show -p MainPID --value berthd.service"); now != pid {
		t.Fatalf("berthd was %s, now %s: it went down under concurrent creates", pid, now)
	}
}
