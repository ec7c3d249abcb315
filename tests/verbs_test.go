//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// TestRename renames a running container: the new name resolves, the old
// one is free, the process is untouched, the object's Name changes with
// PropertiesChanged and the journal has a rename event. A taken or
// invalid name is refused and changes nothing.
func TestRename(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name ren-a sleep 300")
	must(t, "berthctl create --name ren-b --rootfs "+rootfs+" -- true")
	pid := inspectField(t, "ren-a", "Pid")
	path := must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainer s ren-a | cut -d'\"' -f2")
	must(t, "(timeout 15 busctl monitor --match \"type='signal',path='"+path+"',member='PropertiesChanged'\" >/tmp/ren.mon 2>&1 &); sleep 1")

	for _, tc := range []struct{ args, want string }{
		{"ren-a ren-b", "already in use"},
		{"ren-a 'bad/name'", "must match"},
		{"ren-a ''", "no new container name"},
		{"nosuch ren-c", "nosuch"},
		{"ren-a", "requires exactly 2"},
	} {
		if msg := fails(t, "berthctl rename "+tc.args); !strings.Contains(msg, tc.want) {
			t.Errorf("rename %s: %q, want it to say %q", tc.args, msg, tc.want)
		}
	}
	if got := inspectField(t, id, "Name"); got != "ren-a" {
		t.Fatalf("after refused renames the name is %q", got)
	}

	must(t, "berthctl rename ren-a ren-c")
	if got := inspectField(t, id, "Name"); got != "ren-c" {
		t.Errorf("Name property %q, want ren-c", got)
	}
	if got := must(t, "berthctl inspect -f '{{.Name}} {{.State.Status}}' ren-c"); got != "/ren-c running" {
		t.Errorf("inspect after rename: %q", got)
	}
	if got := inspectField(t, "ren-c", "Pid"); got != pid {
		t.Errorf("pid changed from %s to %s", pid, got)
	}
	if msg := fails(t, "berthctl inspect ren-a"); !strings.Contains(msg, "ren-a") {
		t.Errorf("old name: %q", msg)
	}
	eventually(t, 10*time.Second, `grep -A8 PropertiesChanged /tmp/ren.mon | grep -q '"ren-c"'`)
	must(t, "journalctl --no-pager BERTH_EVENT=rename BERTH_CONTAINER_ID="+id+" BERTH_CONTAINER_NAME=ren-c BERTH_OLD_NAME=ren-a | grep -q 'container ren-c: rename'")
	// The old name is free again; the record survives a restart of berthd.
	must(t, "berthctl create --name ren-a --rootfs "+rootfs+" -- true")
	must(t, "systemctl restart berthd.service")
	if got := must(t, "berthctl inspect -f '{{.Name}}' "+id); got != "/ren-c" {
		t.Errorf("after berthd restart: %q", got)
	}
	must(t, "berthctl rm -f ren-a ren-b ren-c")
}

// TestContainerPrune removes the created and exited containers, keeps the
// running one and those a filter excludes, and prints docker's report.
func TestContainerPrune(t *testing.T) {
	fresh(t)
	running := runDetached(t, "--name pr-run sleep 300")
	created := must(t, "berthctl create --name pr-created --rootfs "+rootfs+" -- true")
	exited := must(t, "berthctl create --name pr-exited --rootfs "+rootfs+" -- true >/dev/null && berthctl start pr-exited >/dev/null && berthctl wait pr-exited >/dev/null && berthctl inspect -f '{{.Id}}' pr-exited")
	kept := must(t, "berthctl create --name pr-kept --label keep=yes --rootfs "+rootfs+" -- true")

	for _, tc := range []struct{ args, want string }{
		{"--filter status=exited", `unknown key "status"`},
		{"--filter until=soon", `until "soon"`},
		{"extra", "accepts no arguments"},
	} {
		if msg := fails(t, "berthctl container prune -f "+tc.args); !strings.Contains(msg, tc.want) {
			t.Errorf("prune %s: %q, want %q", tc.args, msg, tc.want)
		}
	}
	// until=1h: all are younger, nothing goes.
	if out := must(t, "berthctl container prune -f --filter until=1h"); out != "Total reclaimed space: 0B" {
		t.Errorf("prune until=1h: %q", out)
	}
	out := must(t, "berthctl container prune -f --filter label!=keep")
	lines := strings.Split(out, "\n")
	if len(lines) != 5 || lines[0] != "Deleted Containers:" || lines[3] != "" || !strings.HasPrefix(lines[4], "Total reclaimed space: ") {
		t.Fatalf("prune output:\n%s", out)
	}
	got := map[string]bool{lines[1]: true, lines[2]: true}
	if !got[created] || !got[exited] {
		t.Errorf("pruned %v, want %s and %s", lines[1:3], created, exited)
	}
	if ids := must(t, "berthctl ps -aq --no-trunc | sort"); ids != strings.Join(sortedPair(running, kept), "\n") {
		t.Errorf("left after prune: %q", ids)
	}
	must(t, "test ! -e /var/lib/berth/containers/"+created+" && test ! -e /var/lib/berth/containers/"+exited)
	must(t, "journalctl --no-pager BERTH_EVENT=remove BERTH_CONTAINER_ID="+exited+" | grep -q remove")
	must(t, "berthctl container prune")
	must(t, "berthctl rm -f pr-run && berthctl ps -aq | wc -l | grep -qx 0")
}

func sortedPair(a, b string) []string {
	if a > b {
		a, b = b, a
	}
	return []string{a, b}
}

// TestTop lists the processes of a container's cgroup, ps-style, and
// nothing else of the host; ps options choose the columns.
func TestTop(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name top-a -- sh -c 'sleep 300 & sleep 301; wait'")
	pid := inspectField(t, id, "Pid")
	eventually(t, 10*time.Second, "berthctl top top-a | grep -q 'sleep 301'")
	out := must(t, "berthctl top top-a")
	lines := strings.Split(out, "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("titles %q", lines[0])
	}
	if len(lines) != 4 {
		t.Fatalf("want sh and two sleeps, got:\n%s", out)
	}
	for _, want := range []string{"sleep 300", "sleep 301", "sh -c sleep 300 & sleep 301; wait"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	found := false
	for _, l := range lines[1:] {
		found = found || strings.Fields(l)[1] == pid
	}
	if !found {
		t.Errorf("the payload's pid %s is not listed:\n%s", pid, out)
	}
	// ps options, after the container, are ps's.
	out = must(t, "berthctl top top-a -o pid,comm")
	if lines := strings.Split(out, "\n"); len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "PID COMMAND" {
		t.Errorf("top -o pid,comm:\n%s", out)
	}
	// A paused container is still listed, as docker.
	must(t, "berthctl pause top-a")
	if n := len(strings.Split(must(t, "berthctl top top-a"), "\n")); n != 4 {
		t.Errorf("paused: %d lines", n)
	}
	must(t, "berthctl unpause top-a")

	must(t, "berthctl create --name top-stopped --rootfs "+rootfs+" -- true")
	for _, tc := range []struct{ args, want string }{
		{"top-stopped", "is not running"},
		{"nosuch", "nosuch"},
		{"top-a -o comm", "no PID column"},
		{"top-a --no-such-ps-option", "ps --no-such-ps-option"},
		{"", "requires at least 1"},
	} {
		if msg := fails(t, "berthctl top "+tc.args); !strings.Contains(msg, tc.want) {
			t.Errorf("top %s: %q, want %q", tc.args, msg, tc.want)
		}
	}
	must(t, "berthctl rm -f top-a top-stopped")
}
