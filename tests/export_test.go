//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// diff of a container on a three-layer image, running and stopped: its
// additions, changes, deletions (a file of a lower layer, an opaque
// directory's old entries), without the mount points berth and runc made.
// export of the stopped container: the merged tree, a link kept as a link
// (never followed onto the host), nothing left mounted; export of a
// running one: it is paused meanwhile and running after.
func TestDiffExport(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar && berthctl load -q -i /srv/images/tools-oci.tar")
	must(t, "mkdir -p /opt/berth-test/vol")
	must(t, `berthctl run -d --name d -u 0 -v /opt/berth-test/vol:/mnt/vol example.com/tools:v1 sh -c '
echo added > /added && rm /data/keep && echo more >> /hello.txt && rm -rf /opq && mkdir /opq && echo fresh > /opq/only &&
mkdir /newdir && echo n > /newdir/f && ln -s /etc/machine-id /newdir/hostlink && echo v > /mnt/vol/v && touch /tmp/ready; sleep 1000'`)
	eventually(t, 10*time.Second, "berthctl exec d test -e /tmp/ready")
	want := strings.Join([]string{
		"A /added", "C /data", "D /data/keep", "C /hello.txt", "A /newdir", "A /newdir/f", "A /newdir/hostlink",
		"C /opq", "D /opq/new", "A /opq/only", "C /tmp", "A /tmp/ready",
	}, "\n")
	if got := must(t, "berthctl diff d"); got != want {
		t.Errorf("diff of a running container:\n%s\nwant:\n%s", got, want)
	}
	must(t, "berthctl kill d && berthctl wait d")
	eventually(t, 10*time.Second, "! findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/'")
	if got := must(t, "berthctl diff d"); got != want {
		t.Errorf("diff of a stopped container:\n%s\nwant:\n%s", got, want)
	}
	noMountsLeft(t)

	must(t, "berthctl export -o /tmp/d.tar d")
	noMountsLeft(t)
	list := must(t, "tar -tvf /tmp/d.tar")
	for _, want := range []string{" added", " hello.txt", " opq/only", " newdir/f", " bin/busybox", " data/", "newdir/hostlink -> /etc/machine-id"} {
		if !strings.Contains(list, want) {
			t.Errorf("export has no %q", want)
		}
	}
	for _, gone := range []string{"data/keep", "opq/new", "data/gone", "mnt/vol/v", ".wh."} {
		if strings.Contains(list, gone) {
			t.Errorf("export has %q:\n%s", gone, list)
		}
	}
	if !strings.Contains(list, "lrwxrwxrwx") || strings.Contains(must(t, "tar -tvf /tmp/d.tar newdir/hostlink"), "-rw") {
		t.Errorf("the link is not a link in the export")
	}
	if got := must(t, "tar -xOf /tmp/d.tar hello.txt"); got != "hello from a layer\nmore" {
		t.Errorf("hello.txt in the export: %q", got)
	}
	// berthctl refuses a terminal, as docker; a redirect works.
	if out, _, _ := sh(t, "script -qec 'berthctl export d' /dev/null"); !strings.Contains(out, "cowardly refusing to save to a terminal") {
		t.Errorf("export to a terminal: %q", out)
	}
	if got := must(t, "berthctl export d | tar -tf - | grep -c '^bin/busybox$'"); got != "1" {
		t.Errorf("export to a pipe: %s", got)
	}

	// A running container: paused for the export, running after, its
	// overlay its only mount.
	must(t, "berthctl run -d --name r busybox sh -c 'echo live > /live; sleep 1000'")
	eventually(t, 10*time.Second, "berthctl exec r test -e /live")
	if got := must(t, "berthctl export r | tar -xOf - live"); got != "live" {
		t.Errorf("/live in the export of a running container: %q", got)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' r"); got != "running" {
		t.Errorf("after its export: %s", got)
	}
	noMountsLeftBut(t, "r")
	must(t, "berthctl rm -f d r")

	// A created container, its overlay mounted since create: exported
	// through it, still mounted after, nothing else left.
	must(t, "berthctl create --name c busybox true")
	if got := must(t, "berthctl export c | tar -tf - | grep -c '^bin/busybox$'"); got != "1" {
		t.Errorf("export of a created container: %s", got)
	}
	noMountsLeftBut(t, "c")
	must(t, "berthctl rm c")
	noMountsLeft(t)
}

// diff and export of what they cannot serve: a container that does not
// exist, one made on a root file-system directory; -o leaves no file.
func TestDiffExportBadInput(t *testing.T) {
	fresh(t)
	must(t, "berthctl create --name dir --rootfs "+rootfs+" -- true")
	for _, tc := range []struct{ args, want string }{
		{"diff nosuch", `"nosuch": no such container`},
		{"export -o /tmp/nosuch.tar nosuch", `"nosuch": no such container`},
		{"diff dir", "--rootfs"},
		{"export -o /tmp/dir.tar dir", "--rootfs"},
		{"diff", "requires exactly 1 argument"},
	} {
		if msg := fails(t, "berthctl "+tc.args); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want %q", tc.args, msg, tc.want)
		}
	}
	if out := must(t, "ls -a /tmp | grep -E 'nosuch|dir\\.tar' || true"); out != "" {
		t.Errorf("files left by refused exports: %s", out)
	}
	noMountsLeft(t)
	must(t, "berthctl rm dir")
}
