//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// mountsGone waits until nothing is mounted under data-root or exec-root
// (a stopped container's monitor unmounts its overlay after the exit is
// recorded).
func mountsGone(t *testing.T) {
	t.Helper()
	eventually(t, 10*time.Second, "! findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/'")
}

// cpSource makes /opt/berth-test/src: f (uid 1234, mode 0640, "hello")
// and sub/g ("deep").
func cpSource(t *testing.T) {
	t.Helper()
	must(t, `mkdir -p /opt/berth-test/src/sub && echo hello > /opt/berth-test/src/f && echo deep > /opt/berth-test/src/sub/g &&
chown 1234:1234 /opt/berth-test/src/f && chmod 0640 /opt/berth-test/src/f`)
}

// docker cp's rules both ways on a running image container: a file into
// a directory (owned by root, or with -a by its source owner), a
// directory into an existing one, to a new name, a directory's content
// with "/.", a file to a new name, tar streams on standard input and
// output (the container's owners kept), a bind mount seen at its target;
// and on the stopped container, whose overlay is mounted for the copy
// only.
func TestCpBothWays(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	cpSource(t)
	must(t, "mkdir -p /opt/berth-test/host")
	must(t, "berthctl run -d --name c -v /opt/berth-test/host:/data busybox sleep 1000")

	// Into the container.
	must(t, "berthctl cp /opt/berth-test/src/f c:/tmp/")
	must(t, "berthctl cp -a /opt/berth-test/src/f c:/tmp/fa")
	if got := must(t, "berthctl exec c stat -c '%u:%g %a %n' /tmp/f /tmp/fa && berthctl exec c cat /tmp/f /tmp/fa"); got != "0:0 640 /tmp/f\n1234:1234 640 /tmp/fa\nhello\nhello" {
		t.Fatalf("copied files: %q", got)
	}
	must(t, "berthctl cp /opt/berth-test/src c:/tmp")            // into an existing directory
	must(t, "berthctl cp /opt/berth-test/src c:/tmp/newname")    // to a new name
	must(t, "berthctl exec c mkdir /tmp/existing")               //
	must(t, "berthctl cp /opt/berth-test/src/. c:/tmp/existing") // the content only
	if got := must(t, "berthctl exec c sh -c 'cat /tmp/src/sub/g /tmp/newname/sub/g /tmp/existing/sub/g; ls /tmp/existing; test ! -e /tmp/existing/src'"); got != "deep\ndeep\ndeep\nf\nsub" {
		t.Fatalf("copied directories: %q", got)
	}
	// A file onto a file replaces it; a directory onto a file is refused.
	must(t, "echo new > /opt/berth-test/f2 && berthctl cp /opt/berth-test/f2 c:/tmp/f")
	if got := must(t, "berthctl exec c cat /tmp/f"); got != "new" {
		t.Fatalf("/tmp/f after a copy onto it: %q", got)
	}
	if msg := fails(t, "berthctl cp /opt/berth-test/src c:/tmp/f"); !strings.Contains(msg, "cannot copy directory") {
		t.Fatalf("directory onto a file: %q", msg)
	}
	// A tar stream on standard input goes into a directory.
	must(t, "tar -C /opt/berth-test/src -cf - sub | berthctl cp - c:/tmp/existing/")
	if got := must(t, "berthctl exec c cat /tmp/existing/sub/g"); got != "deep" {
		t.Fatalf("from stdin: %q", got)
	}
	if msg := fails(t, "tar -C /opt/berth-test/src -cf - sub | berthctl cp - c:/tmp/f"); !strings.Contains(msg, "must be a directory") {
		t.Fatalf("stdin to a file: %q", msg)
	}
	// The bind mount is seen at its target.
	must(t, "berthctl cp /opt/berth-test/src/sub/g c:/data/")
	if got := must(t, "cat /opt/berth-test/host/g"); got != "deep" {
		t.Fatalf("host side of the bind mount: %q", got)
	}

	// Out of the container.
	must(t, "berthctl exec c sh -c 'mkdir /tmp/out && echo a > /tmp/out/a && chown 555:556 /tmp/out/a'")
	must(t, "mkdir /opt/berth-test/dst && berthctl cp c:/tmp/out /opt/berth-test/dst/")
	must(t, "berthctl cp c:/tmp/out /opt/berth-test/renamed")
	must(t, "berthctl cp c:/tmp/out/a /opt/berth-test/single")
	if got := must(t, "cat /opt/berth-test/dst/out/a /opt/berth-test/renamed/a /opt/berth-test/single"); got != "a\na\na" {
		t.Fatalf("copied out: %q", got)
	}
	// The stream keeps the container's owners; the top entry is the base name.
	if got := must(t, "berthctl cp c:/tmp/out - | tar --numeric-owner -tvf - | tr -s ' ' | cut -d' ' -f2,6"); got != "0/0 out/\n555/556 out/a" {
		t.Fatalf("tar stream: %q", got)
	}
	// -L copies what a link leads to, under the link's name.
	must(t, "berthctl exec c ln -s /tmp/out/a /tmp/link")
	must(t, "berthctl cp c:/tmp/link /opt/berth-test/asis && berthctl cp -L c:/tmp/link /opt/berth-test/followed")
	if got := must(t, "readlink /opt/berth-test/asis; cat /opt/berth-test/followed"); got != "/tmp/out/a\na" {
		t.Fatalf("links: %q", got)
	}

	// A stopped container: its overlay is mounted for the copy only.
	must(t, "berthctl stop -t 0 c")
	mountsGone(t)
	must(t, "berthctl cp c:/tmp/fa /opt/berth-test/back && berthctl cp /opt/berth-test/src/sub/g c:/tmp/while-stopped")
	noMountsLeft(t)
	if got := must(t, "cat /opt/berth-test/back"); got != "hello" {
		t.Fatalf("from the stopped container: %q", got)
	}
	// Its bind mount exists only while it runs: refused, not written under it.
	if msg := fails(t, "berthctl cp /opt/berth-test/src/f c:/data/"); !strings.Contains(msg, "exists only while it runs") {
		t.Fatalf("into a mount of a stopped container: %q", msg)
	}
	noMountsLeft(t)
	must(t, "berthctl start c")
	if got := must(t, "berthctl exec c cat /tmp/while-stopped"); got != "deep" {
		t.Fatalf("copied while stopped: %q", got)
	}
	must(t, "berthctl rm -f c")
	noMountsLeft(t)
}

// cp never leaves the container's root: links to /etc (absolute, relative
// with too many "..", in the middle of the path) lead to the container's
// /etc in both directions, for a running and a stopped container, and the
// host's /etc is untouched; a tar stream with entries that leave the
// destination is refused, naming the entry; a missing path is docker's
// "Could not find the file"; a read-only root file system refuses a copy
// in, unless the path is on a writable mount.
func TestCpBadInput(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	cpSource(t)
	must(t, "echo host > /etc/berth-marker && rm -f /etc/pwned /etc/pwned2 /etc/pwned3 /tmp/evil-entry")
	t.Cleanup(func() { sh(t, "rm -f /etc/berth-marker /etc/pwned /etc/pwned2 /etc/pwned3") })
	must(t, "echo pwned > /opt/berth-test/pwned && echo pwned > /opt/berth-test/pwned2 && echo pwned > /opt/berth-test/pwned3")
	must(t, "berthctl run -d --name c busybox sleep 1000")
	must(t, "berthctl exec c sh -c 'echo container > /etc/berth-marker && ln -s /etc /evil && ln -s ../../../../../etc /evil2 && mkdir /d && ln -s ../../.. /d/up'")

	check := func(state string) {
		for _, p := range []string{"/evil/berth-marker", "/evil2/berth-marker", "/d/up/etc/berth-marker", "/evil/../etc/berth-marker"} {
			if got := must(t, "berthctl cp c:"+p+" - | tar -xOf -"); got != "container" {
				t.Fatalf("%s: cp of %s read %q, want the container's file", state, p, got)
			}
		}
		must(t, "berthctl cp /opt/berth-test/pwned c:/evil/ && berthctl cp /opt/berth-test/pwned2 c:/evil2/pwned2 && berthctl cp /opt/berth-test/pwned3 c:/d/up/etc/")
		must(t, "test ! -e /etc/pwned && test ! -e /etc/pwned2 && test ! -e /etc/pwned3")
		if got := must(t, "cat /etc/berth-marker"); got != "host" {
			t.Fatalf("host /etc/berth-marker: %q", got)
		}
		must(t, "tar -C /opt/berth-test -cf - pwned | berthctl cp - c:/evil2")
		must(t, "test ! -e /etc/pwned")
	}
	check("running")
	if got := must(t, "berthctl exec c cat /etc/pwned /etc/pwned2 /etc/pwned3"); got != "pwned\npwned\npwned" {
		t.Fatalf("the container's /etc: %q", got)
	}
	must(t, "berthctl exec c rm /etc/pwned /etc/pwned2 /etc/pwned3")
	must(t, "berthctl stop -t 0 c")
	mountsGone(t)
	check("stopped")
	noMountsLeft(t)

	// Entries that leave the destination, in a stream of our own.
	must(t, `python3 - <<'EOF'
import io, tarfile
for name, entry in (("dotdot", "../../../../tmp/evil-entry"), ("abs", "/tmp/evil-entry")):
    with tarfile.open("/opt/berth-test/%s.tar" % name, "w") as tf:
        data = b"evil"
        ti = tarfile.TarInfo(entry)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
EOF`)
	if msg := fails(t, "berthctl cp - c:/tmp < /opt/berth-test/dotdot.tar"); !strings.Contains(msg, `entry "../../../../tmp/evil-entry": leaves the destination`) {
		t.Fatalf("entry with ..: %q", msg)
	}
	if msg := fails(t, "berthctl cp - c:/tmp < /opt/berth-test/abs.tar"); !strings.Contains(msg, `entry "/tmp/evil-entry": is an absolute path`) {
		t.Fatalf("absolute entry: %q", msg)
	}
	must(t, "test ! -e /tmp/evil-entry")
	noMountsLeft(t)

	// A path that does not exist.
	_, msg, code := sh(t, "berthctl cp c:/nope /opt/berth-test/x")
	if code == 0 || !strings.Contains(msg, "Could not find the file /nope in container c") {
		t.Fatalf("missing source: exit %d, %q", code, msg)
	}
	must(t, "test ! -e /opt/berth-test/x")
	if msg := fails(t, "berthctl cp /opt/berth-test/src/f c:/nodir/sub"); !strings.Contains(msg, "Could not find the file") {
		t.Fatalf("missing destination directory: %q", msg)
	}
	if msg := fails(t, "berthctl cp /opt/berth-test/src/f nosuch:/tmp/"); !strings.Contains(msg, "no such container") {
		t.Fatalf("missing container: %q", msg)
	}
	noMountsLeft(t)

	// A read-only root file system, running and stopped; its tmpfs is writable.
	must(t, "berthctl run -d --name ro --read-only --tmpfs /scratch busybox sleep 1000")
	if msg := fails(t, "berthctl cp /opt/berth-test/src/f ro:/tmp/"); !strings.Contains(msg, "read-only") {
		t.Fatalf("read-only rootfs: %q", msg)
	}
	must(t, "berthctl cp /opt/berth-test/src/f ro:/scratch/")
	if got := must(t, "berthctl exec ro cat /scratch/f"); got != "hello" {
		t.Fatalf("copied to the tmpfs: %q", got)
	}
	must(t, "berthctl stop -t 0 ro")
	mountsGone(t)
	if msg := fails(t, "berthctl cp /opt/berth-test/src/f ro:/tmp/"); !strings.Contains(msg, "read-only") {
		t.Fatalf("read-only rootfs, stopped: %q", msg)
	}
	must(t, "berthctl rm -f c ro")
	noMountsLeft(t)
}
