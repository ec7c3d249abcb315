//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// storeCounts is the number of image records and blobs.
func storeCounts(t *testing.T) string {
	t.Helper()
	return must(t, "echo $(berthctl images -q 2>/dev/null | wc -l) $(ls /var/lib/berth/blobs/sha256 | wc -l) $(ls /var/lib/berth/layers | wc -l)")
}

// commit of a running container on a three-layer image (paused for the
// commit, running after): the new image has one more layer with the
// container's additions, deletions (whiteouts) and an opaque directory,
// but not the mount points berth made; the config is the container's
// with the changes; run of the new image shows it all; images and image
// inspect list it. Then a stopped one-layer container without a tag.
func TestCommit(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar && berthctl load -q -i /srv/images/tools-oci.tar")
	must(t, "mkdir -p /opt/berth-test/vol")
	must(t, `berthctl run -d --name c -u 0 -v /opt/berth-test/vol:/mnt/vol -l from=container example.com/tools:v1 sh -c '
echo added > /added && rm /data/keep && rm /etc/group && mkdir /newdir && echo n > /newdir/f &&
rm -rf /opq && mkdir /opq && echo fresh > /opq/only && echo in-volume > /mnt/vol/v && touch /tmp/ready; sleep 1000'`)
	eventually(t, 10e9, "berthctl exec c test -e /tmp/ready")
	id := must(t, `berthctl commit -a 'A. Author' -m 'the message' -c 'ENV FOO=bar' -c 'CMD ["sh","-c","echo $FOO"]' -c 'LABEL k="v w"' -c 'WORKDIR /newdir' -c 'EXPOSE 8080' c example.com/committed:v2`)
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("commit printed %q, want an image id", id)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' c"); got != "running" {
		t.Fatalf("the container after its commit: %s", got)
	}
	if got := must(t, "berthctl run --rm example.com/committed:v2"); got != "bar" {
		t.Fatalf("run of the committed image: %q", got)
	}
	got := must(t, `berthctl run --rm example.com/committed:v2 sh -c 'cat /added /newdir/f; test ! -e /data/keep && echo keep-gone; test ! -e /etc/group && echo group-gone; ls /opq; pwd; id -u; echo $GREETING; ls /mnt/vol | wc -l'`)
	if got != "added\nn\nkeep-gone\ngroup-gone\nonly\n/newdir\n0\nhi\n0" {
		t.Fatalf("the committed image's files and config:\n%s", got)
	}
	if got := must(t, "berthctl images --format '{{.Repository}}:{{.Tag}}' | grep committed"); got != "example.com/committed:v2" {
		t.Fatalf("images: %q", got)
	}
	if got := must(t, `berthctl image inspect -f '{{.Id}} {{len .RootFS.Layers}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{.Config.User}}' example.com/committed:v2`); got != id+` 4 {"from":"container","k":"v w"} {"8080/tcp":{}} 0` {
		t.Fatalf("image inspect: %s", got)
	}
	// The new layer, unpacked: overlay whiteouts for the deletions, an
	// opaque /opq, none of the mount points runc made.
	dir := must(t, "dirname $(ls -d /var/lib/berth/layers/*/diff/added)")
	must(t, "test -c "+dir+"/data/keep && test -c "+dir+"/etc/group && python3 -c \"import os,sys; sys.exit(os.getxattr('"+dir+"/opq', 'trusted.overlay.opaque') != b'y')\"")
	must(t, "cd "+dir+" && test ! -e etc/hostname && test ! -e etc/hosts && test ! -e etc/resolv.conf && test ! -e mnt/vol && test ! -e proc && test ! -e dev")
	noMountsLeftBut(t, "c")

	// A stopped container of a one-layer image, no tag, --pause=false.
	must(t, "berthctl run --name s busybox sh -c 'echo s > /s.txt; rm /etc/passwd'")
	mountsGoneBut(t, "c")
	id2 := must(t, "berthctl commit --pause=false s")
	if got := must(t, "berthctl run --rm "+id2+" sh -c 'cat /s.txt; test ! -e /etc/passwd && echo passwd-gone'"); got != "s\npasswd-gone" {
		t.Fatalf("run of the untagged image: %q", got)
	}
	if got := must(t, "berthctl images --format '{{.ID}} {{.Repository}}' | grep '<none>'"); !strings.HasPrefix(id2, "sha256:"+strings.Fields(got)[0]) {
		t.Fatalf("the untagged image in images: %q (id %s)", got, id2)
	}
	must(t, "berthctl rm -f c s")
	noMountsLeft(t)
}

// noMountsLeftBut fails if anything but the overlay of the running
// container ref is mounted under data-root or exec-root.
func noMountsLeftBut(t *testing.T, ref string) {
	t.Helper()
	id := must(t, "berthctl inspect -f '{{.Id}}' "+ref)
	if out := must(t, "findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/' | grep -vx /var/lib/berth/containers/"+id+"/rootfs || true"); out != "" {
		t.Fatalf("mounts left under data-root/exec-root:\n%s", out)
	}
}

// mountsGoneBut waits until only ref's overlay is mounted.
func mountsGoneBut(t *testing.T, ref string) {
	t.Helper()
	id := must(t, "berthctl inspect -f '{{.Id}}' "+ref)
	eventually(t, 10e9, "! findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/' | grep -vx /var/lib/berth/containers/"+id+"/rootfs")
}

// A commit that cannot be made leaves nothing: a container that is gone,
// a bad --change (named), a container on --rootfs, a bad reference; the
// running container is not left paused.
func TestCommitBadInput(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "berthctl run -d --name c busybox sh -c 'echo x > /x; sleep 1000'")
	must(t, "berthctl create --name gone busybox true && berthctl rm gone")
	before := storeCounts(t)
	for _, tc := range []struct{ args, want string }{
		{"gone img:1", `container "gone": no such container`},
		{"nosuch", `container "nosuch": no such container`},
		{"-c 'FROM busybox' c bad:1", `change "FROM busybox": FROM is not an instruction commit takes`},
		{"-c 'BOGUS x' c bad:2", `change "BOGUS x": BOGUS is not an instruction commit takes`},
		{"-c 'EXPOSE notaport' c bad:3", `EXPOSE "notaport": want a port`},
		{"-c 'STOPSIGNAL SIGNOPE' c bad:4", `change "STOPSIGNAL SIGNOPE"`},
		{"-c 'ENV' c bad:5", `change "ENV"`},
		{"c 'UPPER:case'", "UPPER:case"},
	} {
		_, msg, code := sh(t, "berthctl commit "+tc.args)
		if code == 0 || !strings.Contains(msg, tc.want) {
			t.Fatalf("commit %s: exit %d, %q; want a failure naming %q", tc.args, code, msg, tc.want)
		}
	}
	if got := storeCounts(t); got != before {
		t.Fatalf("images, blobs, layers: %s after the failures, %s before", got, before)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' c"); got != "running" {
		t.Fatalf("container after the failed commits: %s", got)
	}
	must(t, "berthctl run -d --name r --rootfs "+rootfs+" sleep 1000")
	if msg := fails(t, "berthctl commit r rootfs:1"); !strings.Contains(msg, "has no image") {
		t.Fatalf("commit of a --rootfs container: %q", msg)
	}
	if got := storeCounts(t); got != before {
		t.Fatalf("images, blobs, layers: %s after the --rootfs commit, %s before", got, before)
	}
	noMountsLeftBut(t, "c")
	must(t, "berthctl rm -f c r")
	noMountsLeft(t)
}

// TestCommitKeepsHealthcheck: as docker's commit, the image keeps the
// container's healthcheck, and a container of it runs the check.
func TestCommitKeepsHealthcheck(t *testing.T) {
	fresh(t)
	runBusybox(t, "--name hcc --health-cmd 'test -e /etc/hostname' --health-interval 300ms --health-retries 2 busybox sleep 1000")
	must(t, "berthctl commit hcc hcc:v1 && berthctl rm -f hcc")
	if got := must(t, "berthctl image inspect -f '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}' hcc:v1"); got != `["CMD-SHELL","test -e /etc/hostname"] 2` {
		t.Fatalf("committed image's healthcheck: %s", got)
	}
	must(t, "berthctl run -d --name hcc2 hcc:v1")
	eventually(t, 10e9, "berthctl inspect -f '{{.State.Health.Status}}' hcc2 | grep -x healthy")
	must(t, "berthctl rm -f hcc2 && berthctl rmi hcc:v1")
}
