//go:build e2e

package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Load a docker save archive and an OCI archive, run from each; the image
// config applies; whiteouts and opaque directories give the right tree;
// the common base layer is unpacked once; an image in use is not removed.
func TestImagesLoadAndRun(t *testing.T) {
	fresh(t)
	if out := must(t, "berthctl load -i /srv/images/busybox-docker.tar"); out != "Loaded image: busybox:latest" {
		t.Fatalf("load printed %q", out)
	}
	if out := must(t, "berthctl run --rm busybox echo hi from busybox"); out != "hi from busybox" {
		t.Fatalf("run busybox: %q", out)
	}
	// OCI archive with gzip layers, from standard input.
	if out := must(t, "berthctl load < /srv/images/tools-oci.tar"); out != "Loaded image: example.com/tools:v1" {
		t.Fatalf("load (stdin) printed %q", out)
	}
	table := must(t, "berthctl images")
	for _, want := range []string{"REPOSITORY", "busybox", "example.com/tools", "v1"} {
		if !strings.Contains(table, want) {
			t.Fatalf("images table lacks %q:\n%s", want, table)
		}
	}
	// Cmd, Env, WorkingDir and User come from the image.
	if out := must(t, "berthctl run --rm example.com/tools:v1"); out != "hi from /data as 1000" {
		t.Fatalf("image config not applied: %q", out)
	}
	if out := must(t, "berthctl run --rm -e GREETING=yo -u 0 example.com/tools:v1 sh -c 'echo $GREETING $(pwd) $(id -u)'"); out != "yo /data 0" {
		t.Fatalf("overrides: %q", out)
	}
	// Whiteouts and the opaque directory.
	if out := must(t, "berthctl run --rm example.com/tools:v1 sh -c 'ls /data; echo --; ls /opq; echo --; cat /hello.txt'"); out != "keep\n--\nnew\n--\nhello from a layer" {
		t.Fatalf("file tree:\n%s", out)
	}
	// Three layers unpacked in all: the base is shared.
	if n := must(t, "ls /var/lib/berth/layers | wc -l"); n != "3" {
		t.Fatalf("%s unpacked layers, want 3 (busybox's base shared)", n)
	}
	// A container writes into its own upper directory, not the layers.
	id := must(t, "berthctl run -d --name writer busybox sh -c 'echo berth-upper-7f3a > /bin/new-file; sleep 1000'")
	eventually(t, 5e9, "test -f /var/lib/berth/containers/"+id+"/upper/bin/new-file")
	must(t, "! grep -rl berth-upper-7f3a /var/lib/berth/layers")
	if out := must(t, "berthctl exec writer cat /bin/new-file"); out != "berth-upper-7f3a" {
		t.Fatalf("exec: %q", out)
	}
	// An image in use is not removed; once the container is gone it is.
	msg := fails(t, "berthctl rmi busybox")
	if !strings.Contains(msg, "used by a container") {
		t.Fatalf("rmi of an image in use: %q", msg)
	}
	must(t, "berthctl rm -f writer")
	must(t, "! findmnt /var/lib/berth/containers/"+id+"/rootfs && test ! -e /var/lib/berth/containers/"+id)
	// inspect, tag, the image object on the bus.
	var insp []map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl image inspect example.com/tools:v1")), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("image inspect: %v", err)
	}
	if cfg, _ := insp[0]["Config"].(map[string]any); cfg["WorkingDir"] != "/data" {
		t.Fatalf("inspect Config: %v", insp[0]["Config"])
	}
	must(t, "berthctl tag busybox mybox:1")
	path := must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetImage s mybox:1 | cut -d'\"' -f2")
	if tags := must(t, "busctl get-property io.berth.Engine1 "+path+" io.berth.Engine1.Image RepoTags"); !strings.Contains(tags, `"busybox:latest"`) || !strings.Contains(tags, `"mybox:1"`) {
		t.Fatalf("RepoTags: %s", tags)
	}
	// rmi of one of two names only untags.
	if out := must(t, "berthctl rmi mybox:1"); out != "Untagged: mybox:1" {
		t.Fatalf("rmi of a second name: %q", out)
	}
	// --rm of an image container leaves no mount and no directory.
	must(t, "berthctl run --rm --name gone busybox true")
	must(t, "! findmnt -rn -o TARGET | grep -q /var/lib/berth/containers/")
	// Images survive berthd restarts.
	must(t, "systemctl stop berthd.service")
	if out := must(t, "berthctl images -q | wc -l"); out != "2" {
		t.Fatalf("%s images after a restart", out)
	}
	out := must(t, "berthctl rmi busybox")
	if !strings.Contains(out, "Untagged: busybox:latest") || !strings.Contains(out, "Deleted: sha256:") {
		t.Fatalf("rmi: %q", out)
	}
	// tools still works: its base layer (shared with the removed busybox) stays.
	if out := must(t, "berthctl run --rm example.com/tools:v1 cat /hello.txt"); out != "hello from a layer" {
		t.Fatalf("run after removing the image that shared a layer: %q", out)
	}
	// After a reboot the overlay is gone; a start mounts it again.
	rb := must(t, "berthctl create --name remount example.com/tools:v1 cat /hello.txt")
	must(t, "umount /var/lib/berth/containers/"+rb+"/rootfs && ! findmnt /var/lib/berth/containers/"+rb+"/rootfs")
	if out := must(t, "berthctl start -a remount"); out != "hello from a layer" {
		t.Fatalf("start after the overlay was unmounted: %q", out)
	}
	must(t, "berthctl rm remount")
	// rmi -f of an image in use: the container keeps its layers.
	must(t, "berthctl create --name keeper example.com/tools:v1 cat /hello.txt")
	must(t, "berthctl rmi -f example.com/tools:v1")
	if out := must(t, "berthctl start -a keeper"); out != "hello from a layer" {
		t.Fatalf("container of a force-removed image: %q", out)
	}
	must(t, "berthctl rm keeper && berthctl image prune")
	if n := must(t, "ls /var/lib/berth/layers | wc -l"); n != "0" {
		t.Fatalf("%s layers left after the last user went", n)
	}
	must(t, "berthctl load -i /srv/images/tools-oci.tar")
	// save writes an archive docker and OCI tools read; it loads back.
	must(t, "berthctl save -o /tmp/tools-saved.tar example.com/tools:v1 && tar tf /tmp/tools-saved.tar | grep -qx manifest.json && tar tf /tmp/tools-saved.tar | grep -qx index.json")
	must(t, "berthctl rmi example.com/tools:v1 && berthctl image prune")
	if n := must(t, "ls /var/lib/berth/layers | wc -l"); n != "0" {
		t.Fatalf("%s layers left after removing every image", n)
	}
	if out := must(t, "berthctl load -i /tmp/tools-saved.tar"); out != "Loaded image: example.com/tools:v1" {
		t.Fatalf("load of a saved archive: %q", out)
	}
	if out := must(t, "berthctl run --rm example.com/tools:v1"); out != "hi from /data as 1000" {
		t.Fatalf("run from the saved archive: %q", out)
	}
}

// Entrypoint and Cmd combine as with docker; the image's stop signal is
// the container's; a gzipped docker save archive loads.
func TestImageEntrypointAndStopSignal(t *testing.T) {
	fresh(t)
	if out := must(t, "berthctl load -i /srv/images/entry-docker.tar.gz"); out != "Loaded image: entry:v1" {
		t.Fatalf("load of a gzipped archive: %q", out)
	}
	if out := must(t, "berthctl run --rm entry:v1"); out != "entry default" {
		t.Fatalf("entrypoint + cmd: %q", out)
	}
	if out := must(t, "berthctl run --rm entry:v1 given args"); out != "entry given args" {
		t.Fatalf("entrypoint + given cmd: %q", out)
	}
	must(t, "berthctl create --name entry entry:v1")
	if insp := must(t, "berthctl inspect entry"); !strings.Contains(insp, `"StopSignal": "SIGUSR1"`) || !strings.Contains(insp, `"Entrypoint": [`) {
		t.Fatalf("inspect does not show the image's stop signal and entrypoint:\n%s", insp)
	}
}

// A hostile archive is refused with a message naming the entry, and
// leaves nothing: no image, no layer, no blob, no file outside.
func TestImageLoadRefusesHostileArchive(t *testing.T) {
	fresh(t)
	msg := fails(t, "berthctl load -i /srv/images/evil.tar")
	if !strings.Contains(msg, `entry "../../etc/evil-from-image": leaves the layer`) {
		t.Fatalf("load of a hostile archive: %q", msg)
	}
	must(t, "test ! -e /etc/evil-from-image && test ! -e /var/lib/evil-from-image && test ! -e /var/etc/evil-from-image")
	if out := must(t, "berthctl images -q | wc -l"); out != "0" {
		t.Fatalf("%s images recorded", out)
	}
	must(t, "test -z \"$(ls /var/lib/berth/layers 2>/dev/null)\" && test -z \"$(ls /var/lib/berth/blobs/sha256 2>/dev/null)\"")
	// Running an image that is not there tries to pull it (no network
	// here) and says so.
	if msg := fails(t, "berthctl run --rm nosuchimage true"); !strings.Contains(msg, "Unable to find image 'nosuchimage' locally") || !strings.Contains(msg, "pull nosuchimage") {
		t.Fatalf("run of a missing image: %q", msg)
	}
	if msg := fails(t, "berthctl create --rootfs /nonexistent true"); !strings.Contains(msg, "/nonexistent") {
		t.Fatalf("create with a missing root file system: %q", msg)
	}
}

// An image of 150 layers (the plain overlay options would pass a page at
// 43) runs: files of the lowest and the highest layer are seen, whiteouts
// across the layers hold, and rm leaves no mount.
func TestImageManyLayers(t *testing.T) {
	fresh(t)
	must(t, "/srv/images/mkimage -format docker -ref many:v1 -small-layers 149 -o /tmp/many.tar /srv/rootfs")
	if out := must(t, "berthctl load -i /tmp/many.tar && rm /tmp/many.tar"); out != "Loaded image: many:v1" {
		t.Fatalf("load: %q", out)
	}
	if n := must(t, "ls /var/lib/berth/layers | wc -l"); n != "150" {
		t.Fatalf("%s layers unpacked, want 150", n)
	}
	if out := must(t, "berthctl run --rm many:v1 sh -c 'busybox true && cat /many/1 /many/149 && ls /many | wc -l && ls /many | grep gone'"); out != "layer 1\nlayer 149\n150\ngone-149" {
		t.Fatalf("run of a 150-layer image:\n%s", out)
	}
	id := must(t, "berthctl run -d --name many many:v1 sleep 1000")
	must(t, "findmnt /var/lib/berth/containers/"+id+"/rootfs")
	if out := must(t, "berthctl exec many cat /many/75"); out != "layer 75" {
		t.Fatalf("exec: %q", out)
	}
	must(t, "berthctl rm -f many")
	must(t, "! findmnt -rn -o TARGET | grep -q /var/lib/berth/containers/")
}

// A load keeps only what its image references: the archive's index and a
// 300 KB member no manifest names are not left in the store.
func TestImageLoadKeepsOnlyReferenced(t *testing.T) {
	fresh(t)
	must(t, "/srv/images/mkimage -format oci -ref junk:v1 -junk 300000 -o /tmp/junk.tar /srv/rootfs")
	junk := must(t, "tar tvf /tmp/junk.tar | grep ' 300000 ' | sed 's|.*blobs/sha256/||'")
	index := must(t, "tar xOf /tmp/junk.tar index.json | sha256sum | cut -d' ' -f1")
	must(t, "berthctl load -i /tmp/junk.tar && rm /tmp/junk.tar")
	// manifest, config and the one layer
	if n := must(t, "ls /var/lib/berth/blobs/sha256 | wc -l"); n != "3" {
		t.Fatalf("%s blobs after the load, want 3:\n%s", n, must(t, "ls -l /var/lib/berth/blobs/sha256"))
	}
	must(t, "test ! -e /var/lib/berth/blobs/sha256/"+junk+" && test ! -e /var/lib/berth/blobs/sha256/"+index)
	if out := must(t, "berthctl run --rm junk:v1 echo ok"); out != "ok" {
		t.Fatalf("run: %q", out)
	}
}

// Nothing berth keeps under data-root or exec-root is listable or readable
// by another user (nobody): not the content store (image configs, with
// their environment, and layers), not the unpacked layers, the image and
// container records, the runtime state or the wrappers. The roots
// themselves may only be passed through (0711).
func TestStoreNotReadableByOthers(t *testing.T) {
	fresh(t)
	runc := must(t, "command -v runc")
	config(t, "[runtimes.wrapped]\npath = \""+runc+"\"\nargs = [\"--log-format\", \"text\"]\n")
	must(t, "berthctl load -i /srv/images/tools-oci.tar")
	must(t, "berthctl run -d --name img --runtime wrapped example.com/tools:v1 sleep 1000")
	runDetached(t, "--name plain -- sleep 1000")
	must(t, "berthctl create --name created example.com/tools:v1 true")
	must(t, "berthctl run --name exited example.com/tools:v1 true")
	check := func() {
		t.Helper()
		// Every path under both roots (not into mounted root file systems).
		must(t, "find /var/lib/berth /run/berth -xdev > /tmp/berth-paths && wc -l < /tmp/berth-paths")
		for _, want := range []string{"/var/lib/berth/blobs/sha256/", "/var/lib/berth/layers/", "/var/lib/berth/images/images.json",
			"/var/lib/berth/containers/", "/run/berth/runtimes/wrapped-", "/run/berth/containers/", "/run/berth/runc/"} {
			must(t, "grep -qF "+want+" /tmp/berth-paths")
		}
		out := must(t, `setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
while read -r p; do
	case "$p" in /var/lib/berth|/run/berth) [ -r "$p" ] && echo "listable: $p"; continue;; esac
	[ -r "$p" ] && echo "readable: $p"
	[ -d "$p" ] && [ -x "$p" ] && echo "traversable: $p"
done < /tmp/berth-paths; true'`)
		if out != "" {
			t.Fatalf("open to others:\n%s\n%s", out, must(t, "ls -la /var/lib/berth /run/berth /var/lib/berth/blobs /var/lib/berth/blobs/sha256 | head -40"))
		}
		// A blob by its name (known from a public image) cannot be read either.
		cfg := must(t, "ls /var/lib/berth/blobs/sha256 | head -1")
		fails(t, "setpriv --reuid=65534 --regid=65534 --clear-groups cat /var/lib/berth/blobs/sha256/"+cfg)
	}
	check()
	// A store left by an older berthd (its modes) is tightened when
	// berthd starts.
	must(t, "systemctl stop berthd.service && cd /var/lib/berth && chmod 0755 blobs blobs/sha256 ingest && chmod 0444 blobs/sha256/* && "+
		"chmod 0711 layers images containers /run/berth/containers /run/berth/runc /run/berth/runtimes && chmod 0644 roots.json")
	if out := must(t, "berthctl ps"); !strings.Contains(out, "img") || !strings.Contains(out, "plain") {
		t.Fatalf("after a restart: %q", out)
	}
	check()
}

// A stopped container's overlay is unmounted (as docker does), mounted
// again by the next start, and a removal leaves no mount.
func TestExitedContainerRootfsUnmounted(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	id := must(t, "berthctl run -d --name unmount busybox sh -c 'echo run >>/ran; cat /ran | wc -l'")
	if code := must(t, "berthctl wait unmount"); code != "0" {
		t.Fatalf("wait: %s", code)
	}
	eventually(t, 10*time.Second, "! grep -q "+id+"/rootfs /proc/self/mountinfo")
	// The container's own layer kept what the first run wrote.
	must(t, "berthctl start -a unmount | grep -qx 2")
	eventually(t, 10*time.Second, "! grep -q "+id+"/rootfs /proc/self/mountinfo")
	must(t, "berthctl rm unmount")
	if out, _, _ := sh(t, "grep -c "+id+" /proc/self/mountinfo"); strings.TrimSpace(out) != "0" {
		t.Fatalf("mounts left after rm: %s", out)
	}
}
