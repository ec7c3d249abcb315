//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestDaemonReexec: after `systemctl daemon-reexec` (what a distribution's
// upgrade of systemd does) berthd reaches systemd again: starts, stops and
// removals work without restarting berthd, and containers that ran
// through the re-exec stay manageable.
func TestDaemonReexec(t *testing.T) {
	fresh(t)
	before := runDetached(t, "--name before -- sleep 1000")
	pid := must(t, "systemctl show -p MainPID --value berthd.service")
	must(t, "systemctl daemon-reexec")
	if out := must(t, "berthctl run --rm --rootfs "+rootfs+" -- echo ok"); out != "ok" {
		t.Fatalf("run after daemon-reexec: %q", out)
	}
	after := runDetached(t, "--name after -- sleep 1000")
	must(t, "berthctl stop -t 1 before after && berthctl rm before after")
	if now := must(t, "systemctl show -p MainPID --value berthd.service"); now != pid {
		t.Fatalf("berthd restarted (pid %s, now %s): the test is about the same berthd", pid, now)
	}
	if out := must(t, "berthctl ps -aq"); out != "" {
		t.Fatalf("containers left: %q (%s, %s)", out, before, after)
	}
	// Twice in a row, with a container running across both.
	runDetached(t, "--name across -- sleep 1000")
	must(t, "systemctl daemon-reexec && systemctl daemon-reexec")
	must(t, "berthctl stop -t 1 across && berthctl rm across")
}

// TestAutoRemoveWhenStartFails: an auto-remove container whose start fails
// is removed by berthd itself (as docker does), so a `run --rm` whose start
// fails leaves nothing, whatever the client does after.
func TestAutoRemoveWhenStartFails(t *testing.T) {
	fresh(t)
	const call = "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager "
	out := must(t, call+"CreateContainer a{sv} 3 rootfs s "+rootfs+" cmd as 1 /no/such/cmd auto_remove b true")
	id := strings.Trim(strings.Fields(out)[1], `"`)
	if msg := fails(t, call+"StartContainer sa{sv} "+id+" 0"); !strings.Contains(msg, "/no/such/cmd") {
		t.Fatalf("start: %q", msg)
	}
	if out := must(t, "berthctl ps -aq"); out != "" {
		t.Fatalf("containers left after a failed start of an auto-remove container: %q", out)
	}
	if out := must(t, "ls /var/lib/berth/containers /run/berth/containers"); strings.Contains(out, id) {
		t.Fatalf("directories left: %s", out)
	}
	// Through berthctl: a failed run --rm leaves nothing either.
	fails(t, "berthctl run --rm --rootfs "+rootfs+" -- /no/such/cmd")
	if out := must(t, "berthctl ps -aq"); out != "" {
		t.Fatalf("containers left after run --rm: %q", out)
	}
}
