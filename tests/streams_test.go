//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// logs -f follows new output and ends when the container exits, like
// docker logs -f.
func TestLogsFollow(t *testing.T) {
	fresh(t)
	runDetached(t, `--name follow -- sh -c 'trap "echo bye; exit 0" TERM; echo one; sleep 1; echo two; while :; do sleep 0.2; done'`)
	must(t, "rm -f /tmp/follow.*; (timeout 60 berthctl logs -f follow >/tmp/follow.out 2>&1; echo $? >/tmp/follow.rc) >/dev/null 2>&1 &")
	eventually(t, 10*time.Second, "grep -qx two /tmp/follow.out")
	must(t, "sleep 0.5; test ! -e /tmp/follow.rc") // still following
	must(t, "berthctl stop follow")
	if rc := eventually(t, 10*time.Second, "cat /tmp/follow.rc"); rc != "0" {
		t.Fatalf("logs -f exit status %s after the container stopped", rc)
	}
	if got := must(t, "cat /tmp/follow.out"); got != "one\ntwo\nbye" {
		t.Fatalf("logs -f printed %q", got)
	}
	// -f on an exited container prints and returns, as without -f.
	if got := must(t, "timeout 10 berthctl logs -f --tail 1 follow"); got != "bye" {
		t.Fatalf("logs -f --tail 1 of an exited container: %q", got)
	}
}

// The manager emits ContainerNew and ContainerRemoved with the id and path.
func TestContainerSignals(t *testing.T) {
	fresh(t)
	must(t, "berthctl ps >/dev/null; (timeout 10 busctl monitor --match \"type='signal',interface='io.berth.Engine1.Manager'\" >/tmp/sig.out 2>&1 &); sleep 1")
	id := must(t, "berthctl create --name sig --rootfs "+rootfs+" true")
	must(t, "berthctl rm sig && sleep 1")
	mon := must(t, "cat /tmp/sig.out")
	for _, member := range []string{"ContainerNew", "ContainerRemoved"} {
		i := strings.Index(mon, "Member="+member)
		if i < 0 || !strings.Contains(mon[i:], `"`+id+`"`) {
			t.Fatalf("no %s signal with the id in:\n%s", member, mon)
		}
	}
	if strings.Index(mon, "Member=ContainerNew") > strings.Index(mon, "Member=ContainerRemoved") {
		t.Fatal("ContainerRemoved came before ContainerNew")
	}
}

// Ctrl-C on a foreground run reaches the container, and berthctl exits
// with the container's exit code.
func TestSignalsForwarded(t *testing.T) {
	fresh(t)
	out := must(t, `berthctl run --rootfs `+rootfs+` --name ctrlc -- sh -c 'trap "echo got-int; exit 42" INT; trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done' >/tmp/cc.out 2>&1 &
p=$!
for i in $(seq 100); do grep -q ready /tmp/cc.out && break; sleep 0.1; done
kill -USR1 $p
for i in $(seq 100); do grep -q got-usr1 /tmp/cc.out && break; sleep 0.1; done
kill -INT $p
wait $p
echo "exit=$?"
cat /tmp/cc.out`)
	if !strings.Contains(out, "exit=42") || !strings.Contains(out, "got-usr1") || !strings.Contains(out, "got-int") {
		t.Fatalf("signals not forwarded:\n%s", out)
	}
	if code := inspectField(t, "ctrlc", "ExitCode"); code != "42" {
		t.Fatalf("recorded exit code %s", code)
	}
}

// After a reboot, containers that were running show as exited (255) and
// can be started again. The reboot is simulated: the scope and the monitor
// are killed outright (no exit record), the tmpfs exec-root state goes,
// and the run's recorded boot id is made a different one.
func TestRunningBeforeRebootShowsExited(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name reboot -- sleep 1000")
	must(t, "systemctl stop berthd.service && systemctl kill -s KILL berth-"+id+".scope")
	eventually(t, 10*time.Second, "! systemctl is-active -q berth-"+id+".scope")
	must(t, "rm -rf /run/berth/containers/"+id+" /run/berth/runc/"+id+" && "+
		`sed -i 's/"boot_id": "[0-9a-f-]*"/"boot_id": "00000000000000000000000000000000"/' /var/lib/berth/containers/`+id+"/container.json && "+
		"grep -q '\"boot_id\": \"00000000000000000000000000000000\"' /var/lib/berth/containers/"+id+"/container.json")
	if st := inspectField(t, "reboot", "State"); st != "exited" {
		t.Fatalf("state after reboot %q", st)
	}
	if code := inspectField(t, "reboot", "ExitCode"); code != "255" {
		t.Fatalf("exit code after reboot %s", code)
	}
	must(t, "berthctl start reboot && berthctl exec reboot true && berthctl rm -f reboot")
}
