//go:build e2e

package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSocketActivation(t *testing.T) {
	fresh(t)
	if st, _, _ := sh(t, "systemctl is-active berthd.service"); strings.TrimSpace(st) == "active" {
		t.Fatal("berthd active before any request")
	}
	if got := must(t, "curl -sS --unix-socket /run/berth/berth.sock http://localhost/_ping"); got != "OK" {
		t.Fatalf("_ping answered %q", got)
	}
	must(t, "systemctl is-active berthd.service")
	// Not PartOf the service: the socket stays when berthd stops.
	must(t, "systemctl stop berthd.service && systemctl is-active berthd.socket")
	if got := must(t, "curl -sS --unix-socket /run/berth/berth.sock http://localhost/_ping"); got != "OK" {
		t.Fatalf("_ping after restart answered %q", got)
	}
}

func TestBusActivation(t *testing.T) {
	fresh(t)
	must(t, "! systemctl is-active berthd.service")
	out := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager DefaultRuntime")
	if out != `s "runc"` {
		t.Fatalf("DefaultRuntime: %q", out)
	}
	must(t, "systemctl is-active berthd.service")
	digest := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager ConfigDigest")
	if !strings.HasPrefix(digest, `s "sha256:`) {
		t.Fatalf("ConfigDigest: %q", digest)
	}
	status := must(t, "berthctl status")
	if !strings.Contains(status, "sha256:") || !strings.Contains(status, "runc") {
		t.Fatalf("status: %s", status)
	}
}

func TestForegroundRunOutputAndExitCode(t *testing.T) {
	fresh(t)
	out, errOut, code := sh(t, "berthctl run --rm --rootfs "+rootfs+" -- sh -c 'echo hi; echo oops >&2; exit 3'")
	if out != "hi\n" || errOut != "oops\n" || code != 3 {
		t.Fatalf("stdout %q stderr %q code %d", out, errOut, code)
	}
	if left := must(t, "berthctl ps -aq"); left != "" {
		t.Fatalf("--rm left %q", left)
	}
	// Default hostname is the short id, as with docker.
	out = must(t, "berthctl run --rm --name h1 --rootfs "+rootfs+" -- hostname")
	if len(out) != 12 {
		t.Fatalf("hostname %q", out)
	}
	// Standard input reaches the container with -i.
	if out := must(t, "echo piped | berthctl run --rm -i --rootfs "+rootfs+" -- cat"); out != "piped" {
		t.Fatalf("stdin: %q", out)
	}
	// Environment, working directory, user.
	out = must(t, "berthctl run --rm -e FOO=bar -w /tmp -u user --rootfs "+rootfs+" -- sh -c 'echo $FOO $(pwd) $(id -u)'")
	if out != "bar /tmp 1000" {
		t.Fatalf("env/workdir/user: %q", out)
	}
}

func TestJournalFields(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name web -- sh -c 'echo out-line; echo err-line >&2; head -c 40000 /dev/zero | tr \\\\0 x; echo'")
	must(t, "berthctl wait web")
	lines := must(t, "journalctl -o json --all --no-pager CONTAINER_NAME=web SYSLOG_IDENTIFIER="+id[:12])
	var seenOut, seenErr, partial, last bool
	for _, l := range strings.Split(lines, "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("journal json: %v", err)
		}
		for _, f := range []string{"CONTAINER_ID", "CONTAINER_ID_FULL", "CONTAINER_NAME", "CONTAINER_TAG", "IMAGE_NAME", "SYSLOG_IDENTIFIER"} {
			if _, ok := e[f]; !ok {
				t.Errorf("field %s missing in %v", f, e)
			}
		}
		if e["CONTAINER_ID_FULL"] != id || e["CONTAINER_ID"] != id[:12] {
			t.Errorf("ids: %v %v", e["CONTAINER_ID_FULL"], e["CONTAINER_ID"])
		}
		msg, _ := e["MESSAGE"].(string)
		switch {
		case msg == "out-line":
			seenOut = e["PRIORITY"] == "6"
		case msg == "err-line":
			seenErr = e["PRIORITY"] == "3"
		case strings.HasPrefix(msg, "xxx"):
			if e["CONTAINER_PARTIAL_MESSAGE"] == "true" {
				if len(msg) != 16384 {
					t.Errorf("partial piece of %d bytes", len(msg))
				}
				partial = true
			} else {
				last = len(msg) == 40000-2*16384
			}
		}
	}
	if !seenOut || !seenErr || !partial || !last {
		t.Fatalf("stdout %v stderr %v partial %v last piece %v", seenOut, seenErr, partial, last)
	}
	// The scope's journal has them too.
	if n := must(t, "journalctl -o cat --no-pager -u berth-"+id+".scope | grep -c -x out-line"); n != "1" {
		t.Fatalf("journalctl -u found %s lines", n)
	}
	// berthctl logs reads them back through berthd.
	out := must(t, "timeout 10 berthctl logs web >/tmp/logs.out 2>/tmp/logs.err && head -c 20 /tmp/logs.out")
	if errOut := must(t, "cat /tmp/logs.err"); !strings.HasPrefix(out, "out-line\n") || errOut != "err-line" {
		t.Fatalf("logs: %q / %q", out, errOut)
	}
	// A reader that goes away early does not hang berthctl or berthd.
	must(t, "timeout 10 berthctl logs web | head -c 20 >/dev/null")
	// Events: created, started, died with its exit code.
	ev := must(t, "journalctl -o json --no-pager BERTH_CONTAINER_ID="+id+" BERTH_EVENT=die")
	if !strings.Contains(ev, `"EXIT_CODE":"0"`) {
		t.Fatalf("die event: %s", ev)
	}
}

func TestScopePerContainer(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--memory 64m --cpus 0.5 --cpu-shares 512 --pids-limit 100 -- sleep 1000")
	unit := "berth-" + id + ".scope"
	props := must(t, "systemctl show "+unit+" -p Slice,Delegate,MemoryMax,CPUQuotaPerSecUSec,TasksMax,CollectMode,CPUWeight,TimeoutStopUSec,Description")
	for _, want := range []string{"Slice=berth.slice", "Delegate=yes", "MemoryMax=67108864", "CPUQuotaPerSecUSec=500ms",
		"TasksMax=100", "CollectMode=inactive-or-failed", "CPUWeight=20", "TimeoutStopUSec=15s", "Description=berth container"} {
		if !strings.Contains(props, want) {
			t.Errorf("scope property %s missing in:\n%s", want, props)
		}
	}
	cg := "/sys/fs/cgroup/berth.slice/" + unit
	mon := must(t, "cat "+cg+"/supervisor/cgroup.procs")
	if !strings.Contains(must(t, "cat /proc/"+strings.Fields(mon)[0]+"/cmdline | tr '\\0' ' '"), "berth-monitor") {
		t.Fatal("supervisor/ does not hold the monitor")
	}
	pid := inspectField(t, id, "Pid")
	if got := must(t, "cat "+cg+"/container/cgroup.procs"); !strings.Contains(got, pid) {
		t.Fatalf("payload pid %s not in container/: %s", pid, got)
	}
	if must(t, "cat "+cg+"/cgroup.procs") != "" {
		t.Fatal("the scope's root cgroup holds processes")
	}
	// The payload never lived in berthd's cgroup: stopping berthd leaves it.
	must(t, "systemctl stop berthd.service")
	must(t, "systemctl is-active "+unit)
	runDetached(t, "-- sleep 1000")
	if n := must(t, "systemctl list-units --plain --no-legend 'berth-*.scope' | wc -l"); n != "2" {
		t.Fatalf("%s scopes for two containers", n)
	}
}

func TestSystemctlStopIsRecorded(t *testing.T) {
	fresh(t)
	// A payload that handles SIGTERM exits with its own code.
	id := runDetached(t, "--name polite -- sh -c 'trap \"exit 7\" TERM; while :; do sleep 0.1; done'")
	time.Sleep(300 * time.Millisecond)
	must(t, "systemctl stop berth-"+id+".scope")
	if st := inspectField(t, "polite", "State"); st != "exited" {
		t.Fatalf("state %q", st)
	}
	if code := inspectField(t, "polite", "ExitCode"); code != "7" {
		t.Fatalf("exit code %s, want 7", code)
	}
	// A payload that ignores SIGTERM is killed after its stop timeout.
	id = runDetached(t, "--name stubborn --stop-timeout 1 -- sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'")
	start := time.Now()
	must(t, "systemctl stop berth-"+id+".scope")
	if d := time.Since(start); d > 12*time.Second {
		t.Fatalf("stop took %s", d)
	}
	if code := inspectField(t, "stubborn", "ExitCode"); code != "137" {
		t.Fatalf("exit code %s, want 137 (SIGKILL)", code)
	}
	must(t, "! systemctl is-active berth-"+id+".scope")
	// Exited containers start again in a fresh scope.
	must(t, "berthctl start stubborn")
	must(t, "systemctl is-active berth-"+id+".scope")
	must(t, "berthctl rm -f stubborn")
}

func TestIdleExitKeepsContainers(t *testing.T) {
	fresh(t)
	config(t, `idle-timeout = "2s"`)
	id := runDetached(t, "--name survivor -- sh -c 'while :; do sleep 0.2; done'")
	eventually(t, 15*time.Second, "! systemctl is-active berthd.service")
	must(t, "systemctl is-active berth-"+id+".scope")
	// The next call brings berthd back, and it finds the container running.
	if st := inspectField(t, "survivor", "State"); st != "running" {
		t.Fatalf("state after re-activation: %q", st)
	}
	// A waiting client keeps berthd up past the idle timeout.
	must(t, "(berthctl wait survivor > /tmp/wait.out 2>&1 &) ; sleep 4; systemctl is-active berthd.service")
	must(t, "berthctl stop -t 1 survivor")
	if out := eventually(t, 5*time.Second, "test -s /tmp/wait.out && cat /tmp/wait.out"); out != "137" {
		t.Fatalf("wait printed %q, want 137", out)
	}
}

func TestKill9OfBerthd(t *testing.T) {
	fresh(t)
	keep := runDetached(t, "--name keep -- sh -c 'while :; do sleep 0.2; done'")
	runDetached(t, "--name quick -- sh -c 'sleep 1; exit 42'")
	must(t, "systemctl kill -s KILL berthd.service")
	eventually(t, 5*time.Second, "! systemctl is-active berthd.service")
	time.Sleep(2 * time.Second) // quick exits while berthd is gone
	must(t, "systemctl is-active berth-"+keep+".scope")
	if code := inspectField(t, "quick", "ExitCode"); code != "42" {
		t.Fatalf("exit while gone: code %s", code)
	}
	if st := inspectField(t, "quick", "State"); st != "exited" {
		t.Fatalf("quick: %s", st)
	}
	if out := must(t, "berthctl exec keep echo still-managed"); out != "still-managed" {
		t.Fatalf("exec after kill -9: %q", out)
	}
	must(t, "berthctl stop -t 1 keep && berthctl rm keep quick")
	if left := must(t, "systemctl list-units --plain --no-legend 'berth-*.scope'"); left != "" {
		t.Fatalf("scopes left: %s", left)
	}
}

func TestExec(t *testing.T) {
	fresh(t)
	runDetached(t, "--name box -e FROM_RUN=1 -- sleep 1000")
	out, _, code := sh(t, "berthctl exec -e X=2 box sh -c 'echo $FROM_RUN$X; exit 5'")
	if out != "12\n" || code != 5 {
		t.Fatalf("exec: %q code %d", out, code)
	}
	if out := must(t, "echo in | berthctl exec -i box cat"); out != "in" {
		t.Fatalf("exec -i: %q", out)
	}
	if out := must(t, "berthctl exec -u user -w /tmp box sh -c 'echo $(id -u) $(pwd)'"); out != "1000 /tmp" {
		t.Fatalf("exec -u -w: %q", out)
	}
	msg := fails(t, "berthctl exec box /no/such/binary")
	if !strings.Contains(msg, "no/such/binary") {
		t.Fatalf("exec of a missing binary: %q", msg)
	}
	// An exec is the monitor's child, not berthd's: it survives berthd.
	must(t, "berthctl exec box sh -c 'sleep 30 >/dev/null 2>&1 &' ; true")
	must(t, "(berthctl exec box sh -c 'sleep 2; echo done' > /tmp/exec.out &); sleep 0.5; systemctl kill -s KILL berthd.service")
	eventually(t, 10*time.Second, "grep -qx done /tmp/exec.out")
}

func TestLifecycleVerbs(t *testing.T) {
	fresh(t)
	id := must(t, "berthctl create --name c1 --rootfs "+rootfs+" -- sh -c 'trap \"exit 9\" USR1; while :; do sleep 0.1; done'")
	if st := inspectField(t, "c1", "State"); st != "created" {
		t.Fatalf("after create: %s", st)
	}
	must(t, "berthctl start c1")
	must(t, "berthctl pause c1")
	if st := inspectField(t, "c1", "State"); st != "paused" {
		t.Fatalf("after pause: %s", st)
	}
	if f := must(t, "cat /sys/fs/cgroup/berth.slice/berth-"+id+".scope/container/cgroup.freeze"); f != "1" {
		t.Fatalf("cgroup.freeze %s", f)
	}
	must(t, "berthctl unpause c1")
	if st := inspectField(t, id[:8], "State"); st != "running" {
		t.Fatalf("after unpause (by id prefix): %s", st)
	}
	must(t, "berthctl kill -s USR1 c1")
	if code := must(t, "berthctl wait c1"); code != "9" {
		t.Fatalf("exit code after SIGUSR1: %s", code)
	}
	must(t, "berthctl restart -t 1 c1")
	if st := inspectField(t, "c1", "State"); st != "running" {
		t.Fatalf("after restart: %s", st)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl ps --format json")), &rows); err != nil || len(rows) != 1 || rows[0]["Name"] != "c1" {
		t.Fatalf("ps json: %v %v", rows, err)
	}
	var insp []map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl inspect c1")), &insp); err != nil || insp[0]["Id"] != id {
		t.Fatalf("inspect: %v", err)
	}
	must(t, "berthctl rm -f c1")
	fails(t, "berthctl inspect c1")
	if left := must(t, "ls /var/lib/berth/containers /run/berth/containers"); strings.Contains(left, id) {
		t.Fatalf("state left behind: %s", left)
	}
}

func TestTTY(t *testing.T) {
	fresh(t)
	// script(1) gives berthctl a terminal.
	out := must(t, "script -qc 'berthctl run --rm -t --rootfs "+rootfs+" -- sh -c \"test -t 0 && echo is-a-tty; tty\"' /dev/null")
	if !strings.Contains(out, "is-a-tty") || !strings.Contains(out, "/dev/pts/") {
		t.Fatalf("tty run: %q", out)
	}
}

func TestUnprivilegedCaller(t *testing.T) {
	fresh(t)
	runDetached(t, "--name mine -- sleep 1000")
	as := "setpriv --reuid=65534 --regid=65534 --clear-groups "
	if out := must(t, as+"berthctl ps"); !strings.Contains(out, "mine") {
		t.Fatalf("unprivileged ps: %q", out)
	}
	for _, cmd := range []string{"berthctl run --rm --rootfs " + rootfs + " -- true", "berthctl stop mine", "berthctl rm -f mine", "berthctl inspect mine", "berthctl logs mine", "berthctl exec mine true"} {
		msg := fails(t, as+cmd)
		if !strings.Contains(msg, "permission denied") {
			t.Errorf("%s: %q", cmd, msg)
		}
	}
	_, errOut, _ := sh(t, as+"busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager RemoveContainer 'sa{sv}' mine 0")
	if !strings.Contains(errOut, "Access denied") {
		t.Fatalf("busctl as nobody: %q", errOut)
	}
	// Group berth is enough.
	must(t, "setpriv --reuid=65534 --regid=65534 --groups=$(getent group berth | cut -d: -f3) berthctl stop -t 0 mine")
	must(t, "berthctl rm mine")
}

func TestIntrospection(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name intro -- sleep 1000")
	out := must(t, "busctl introspect io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager")
	for _, m := range []string{".CreateContainer", ".StartContainer", ".StopContainer", ".KillContainer", ".RemoveContainer", ".ListContainers", ".GetContainer", ".ExecContainer", ".ContainerNew", ".ConfigDigest"} {
		if !strings.Contains(out, m) {
			t.Errorf("introspection lacks %s", m)
		}
	}
	path := strings.Split(must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainer s intro"), `"`)[1]
	want := "/io/berth/Engine1/container/" + id
	if id[0] >= '0' && id[0] <= '9' {
		want = "/io/berth/Engine1/container/_3" + id // a leading digit is escaped
	}
	if path != want {
		t.Fatalf("object path %q: want the id escaped like systemd", path)
	}
	cont := must(t, "busctl introspect io.berth.Engine1 "+path)
	for _, p := range []string{".Id", ".Name", ".Image", ".State", ".ExitCode", ".Pid", ".Unit", ".Runtime", ".CreatedAt", ".StartedAt", ".FinishedAt"} {
		if !strings.Contains(cont, p) {
			t.Errorf("container object lacks %s", p)
		}
	}
	if u := inspectField(t, "intro", "Unit"); u != "berth-"+id+".scope" {
		t.Fatalf("Unit %q", u)
	}
	// PropertiesChanged on a state change.
	must(t, "(timeout 10 busctl monitor --match \"type='signal',interface='org.freedesktop.DBus.Properties',path='"+path+"'\" > /tmp/mon.out 2>&1 &); sleep 1; berthctl stop -t 0 intro; sleep 1")
	if mon := must(t, "cat /tmp/mon.out"); !strings.Contains(mon, "PropertiesChanged") || !strings.Contains(mon, "exited") {
		t.Fatalf("no PropertiesChanged with the new state:\n%s", mon)
	}
}
