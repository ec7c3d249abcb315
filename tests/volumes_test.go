//go:build e2e

package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// loadVolumeImages loads busybox:latest and vol:v1 (VOLUME /srv/content
// with content, /srv/empty).
func loadVolumeImages(t *testing.T) {
	t.Helper()
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar && berthctl load -q -i /srv/images/vol-docker.tar")
}

// mountsOf returns a container's inspect Mounts.
func mountsOf(t *testing.T, ref string) []map[string]any {
	t.Helper()
	var m []map[string]any
	out := must(t, "berthctl inspect -f '{{json .Mounts}}' "+ref)
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("Mounts %q: %v", out, err)
	}
	return m
}

// noMountsLeft fails if anything is mounted under data-root or exec-root.
func noMountsLeft(t *testing.T) {
	t.Helper()
	if out := must(t, "findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/' || true"); out != "" {
		t.Fatalf("mounts left under data-root/exec-root:\n%s", out)
	}
}

// A bind-mounted host directory: what the container writes the host sees
// with the container user's owner; :ro and --mount readonly refuse
// writes; -v creates a missing host directory; inspect shows the mounts.
func TestVolumesBindMount(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "mkdir -p /opt/berth-test/host && chown 1000:1000 /opt/berth-test/host")
	must(t, "berthctl run --rm -u 1000:1000 -v /opt/berth-test/host:/data busybox sh -c 'echo written > /data/f'")
	if got := must(t, "stat -c '%u:%g %n' /opt/berth-test/host/f && cat /opt/berth-test/host/f"); got != "1000:1000 /opt/berth-test/host/f\nwritten" {
		t.Fatalf("host sees %q", got)
	}
	for _, flag := range []string{"-v /opt/berth-test/host:/data:ro", "--mount type=bind,source=/opt/berth-test/host,target=/data,readonly"} {
		_, errOut, code := sh(t, "berthctl run --rm "+flag+" busybox sh -c 'echo x > /data/g'")
		if code == 0 || !strings.Contains(errOut, "Read-only file system") {
			t.Fatalf("%s: exit %d, stderr %q; want a Read-only file system refusal", flag, code, errOut)
		}
		must(t, "test ! -e /opt/berth-test/host/g")
		// Reading still works.
		if got := must(t, "berthctl run --rm "+flag+" busybox cat /data/f"); got != "written" {
			t.Fatalf("%s: read %q", flag, got)
		}
	}
	// docker's -v rule: a missing host directory is created (at start).
	must(t, "berthctl create --name mk -v /opt/berth-test/new/dir:/d busybox true")
	must(t, "test ! -e /opt/berth-test/new/dir")
	must(t, "berthctl start -a mk && test -d /opt/berth-test/new/dir")
	m := mountsOf(t, "mk")
	if len(m) != 1 || m[0]["Type"] != "bind" || m[0]["Source"] != "/opt/berth-test/new/dir" || m[0]["Destination"] != "/d" ||
		m[0]["RW"] != true || m[0]["Propagation"] != "rprivate" {
		t.Fatalf("Mounts of mk: %v", m)
	}
	if got := must(t, "berthctl inspect -f '{{json .HostConfig.Binds}} {{json .HostConfig.Mounts}} {{json .HostConfig.Tmpfs}}' mk"); got != `["/opt/berth-test/new/dir:/d"] [] {}` {
		t.Fatalf("HostConfig: %s", got)
	}
	must(t, "berthctl create --name none busybox true")
	if got := must(t, "berthctl inspect -f '{{json .Mounts}}' none"); got != "[]" {
		t.Fatalf("Mounts of a container without mounts: %s", got)
	}
	// bind-propagation reaches the runtime's mount.
	id := must(t, "berthctl create --mount type=bind,source=/opt/berth-test/host,target=/p,bind-propagation=rslave busybox true")
	if m := mountsOf(t, id); m[0]["Propagation"] != "rslave" || m[0]["RW"] != true {
		t.Fatalf("Mounts: %v", m)
	}
	must(t, "berthctl start -a "+id)
	must(t, "grep -q rslave /run/berth/containers/"+id+"/bundle/config.json")
}

// A named volume is created on first use, survives rm of its container
// and is seen by the next; an empty volume over image content gets the
// content with its owners and modes; volume rm is refused while a
// container uses it (with -f too while one runs) and allowed after.
func TestVolumesNamed(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "berthctl run --name first -v data:/data busybox sh -c 'echo one > /data/x'")
	if got := must(t, "berthctl volume ls -q"); got != "data" {
		t.Fatalf("volume ls: %q", got)
	}
	must(t, "stat -c %a /var/lib/berth/volumes | grep -qx 700")
	must(t, "berthctl rm first")
	if got := must(t, "berthctl run --name second -v data:/data busybox cat /data/x"); got != "one" {
		t.Fatalf("the next container reads %q", got)
	}
	m := mountsOf(t, "second")
	if len(m) != 1 || m[0]["Type"] != "volume" || m[0]["Name"] != "data" || m[0]["Source"] != "/var/lib/berth/volumes/data/_data" || m[0]["RW"] != true {
		t.Fatalf("Mounts: %v", m)
	}
	// ps: docker's volume= filter and .Mounts.
	if got := must(t, "berthctl ps -a --filter volume=data --format '{{.Names}} {{.Mounts}}'"); got != "second data" {
		t.Fatalf("ps --filter volume=data: %q", got)
	}
	if got := must(t, "berthctl ps -a -q --filter volume=/data | wc -l; berthctl ps -a -q --filter volume=other | wc -l"); got != "1\n0" {
		t.Fatalf("ps --filter volume=/data, volume=other: %q", got)
	}
	// In use by a stopped container: refused without -f.
	errOut := fails(t, "berthctl volume rm data")
	if !strings.Contains(errOut, "in use") {
		t.Fatalf("volume rm in use: %q", errOut)
	}
	must(t, "test -d /var/lib/berth/volumes/data/_data")
	// In use by a running container: refused even with -f.
	must(t, "berthctl run -d --name runner -v data:/data busybox sleep 1000")
	errOut = fails(t, "berthctl volume rm -f data")
	if !strings.Contains(errOut, "running") {
		t.Fatalf("volume rm -f while running: %q", errOut)
	}
	must(t, "test -d /var/lib/berth/volumes/data/_data")
	must(t, "berthctl rm -f runner second")
	must(t, "berthctl volume rm data")
	must(t, "test ! -e /var/lib/berth/volumes/data")
	// Journal events, docker's actions.
	eventually(t, 5*time.Second, "journalctl -o cat BERTH_VOLUME_NAME=data BERTH_EVENT=create | grep -qx 'volume data: create' && journalctl -o cat BERTH_VOLUME_NAME=data BERTH_EVENT=destroy | grep -qx 'volume data: destroy'")
	if got := must(t, "berthctl volume ls -q"); got != "" {
		t.Fatalf("volume ls after rm: %q", got)
	}

	// Copy-up: the image's /srv/content into an empty named volume.
	must(t, "berthctl run --rm -v cu:/srv/content vol:v1 true")
	if got := must(t, "cd /var/lib/berth/volumes/cu/_data && stat -c '%u:%g %a' . file && cat file"); got != "1000:1000 750\n1000:100 640\nfrom the image" {
		t.Fatalf("copied up: %q", got)
	}
	// nocopy: nothing copied.
	must(t, "berthctl run --rm --mount type=volume,source=nc,target=/srv/content,volume-nocopy vol:v1 true")
	must(t, "test -z \"$(ls -A /var/lib/berth/volumes/nc/_data)\"")
	// A volume that has content is not filled again.
	must(t, "echo mine > /var/lib/berth/volumes/nc/_data/own")
	if got := must(t, "berthctl run --rm -v nc:/srv/content vol:v1 ls /srv/content"); got != "own" {
		t.Fatalf("a volume with content was filled: %q", got)
	}

	// volume create, labels, filters, inspect, the D-Bus object.
	must(t, "berthctl volume create --label team=a --label tier=db lab")
	if got := must(t, "berthctl volume ls -q --filter label=team=a"); got != "lab" {
		t.Fatalf("ls --filter label=team=a: %q", got)
	}
	if got := must(t, "berthctl volume ls -q --filter label=team=b"); got != "" {
		t.Fatalf("ls --filter label=team=b: %q", got)
	}
	if got := must(t, "berthctl volume ls -q --filter name=la --filter dangling=true"); got != "lab" {
		t.Fatalf("ls --filter name=la: %q", got)
	}
	if got := must(t, "berthctl __complete volume rm l 2>/dev/null"); got != "lab\n:4" {
		t.Fatalf("completion of volume names: %q", got)
	}
	if got := must(t, "berthctl volume inspect -f '{{.Labels.tier}} {{.Mountpoint}} {{.Driver}}' lab"); got != "db /var/lib/berth/volumes/lab/_data local" {
		t.Fatalf("inspect: %q", got)
	}
	if got := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1/volume/lab io.berth.Engine1.Volume Mountpoint"); got != `s "/var/lib/berth/volumes/lab/_data"` {
		t.Fatalf("volume object: %q", got)
	}
	// prune: anonymous only by default, named too with -a.
	must(t, "berthctl volume prune")
	if got := must(t, "berthctl volume ls -q | tr '\\n' ' '"); got != "cu lab nc" {
		t.Fatalf("after prune: %q", got)
	}
	must(t, "berthctl volume prune -a --filter label=team=a")
	if got := must(t, "berthctl volume ls -q | tr '\\n' ' '"); got != "cu nc" {
		t.Fatalf("after prune -a --filter: %q", got)
	}
	must(t, "test ! -e /var/lib/berth/volumes/lab")
}

// Anonymous volumes: one per VOLUME line of the image (filled from the
// image), one per -v /path; rm -v removes them, rm alone keeps them,
// --rm removes them.
func TestVolumesAnonymous(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "berthctl run -d --name anon vol:v1 sleep 1000")
	vols := strings.Fields(must(t, "berthctl volume ls -q"))
	if len(vols) != 2 || len(vols[0]) != 64 || len(vols[1]) != 64 {
		t.Fatalf("anonymous volumes: %v", vols)
	}
	if got := must(t, "berthctl exec anon cat /srv/content/file"); got != "from the image" {
		t.Fatalf("anonymous volume content: %q", got)
	}
	m := mountsOf(t, "anon")
	if len(m) != 2 || m[0]["Type"] != "volume" || m[0]["Destination"] != "/srv/content" || m[1]["Destination"] != "/srv/empty" {
		t.Fatalf("Mounts: %v", m)
	}
	must(t, "berthctl rm -f -v anon")
	if got := must(t, "berthctl volume ls -q"); got != "" {
		t.Fatalf("rm -v left %q", got)
	}
	// -v /path; plain rm keeps it, prune then removes it.
	must(t, "berthctl run --name keep -v /scratch busybox sh -c 'echo s > /scratch/s'")
	must(t, "berthctl rm keep")
	if n := len(strings.Fields(must(t, "berthctl volume ls -q"))); n != 1 {
		t.Fatalf("rm without -v: %d volumes, want 1", n)
	}
	must(t, "berthctl volume prune")
	if got := must(t, "berthctl volume ls -q"); got != "" {
		t.Fatalf("prune left %q", got)
	}
	// --rm takes its anonymous volumes, as docker.
	must(t, "berthctl run --rm vol:v1 true")
	if got := must(t, "berthctl volume ls -q"); got != "" {
		t.Fatalf("--rm left %q", got)
	}
	// A user's mount over an image VOLUME replaces the anonymous one.
	must(t, "berthctl run --rm -v named:/srv/content vol:v1 true")
	if got := strings.Fields(must(t, "berthctl volume ls -q")); len(got) != 1 || got[0] != "named" {
		t.Fatalf("volumes: %v", got)
	}
}

// --tmpfs and --mount type=tmpfs: writable, sized, with their mode; a
// tmpfs over a directory of a read-only root file system lets the
// payload write there only.
func TestVolumesTmpfs(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	out := must(t, "berthctl run --rm --tmpfs /tmp:size=1m busybox sh -c 'grep \" /tmp \" /proc/mounts; echo x > /tmp/x && cat /tmp/x'")
	if !strings.Contains(out, "tmpfs /tmp tmpfs") || !strings.Contains(out, "size=1024k") || !strings.Contains(out, "noexec") || !strings.HasSuffix(out, "\nx") {
		t.Fatalf("--tmpfs: %q", out)
	}
	if got := must(t, "berthctl run --rm --mount type=tmpfs,target=/run/t,tmpfs-size=64m,tmpfs-mode=700 busybox stat -c %a /run/t"); got != "700" {
		t.Fatalf("tmpfs-mode: %q", got)
	}
	// --read-only with --tmpfs /tmp and a volume: the payload writes
	// there only.
	out = must(t, "berthctl run --rm --read-only --tmpfs /tmp -v ro-vol:/data busybox sh -c 'echo t > /tmp/t && echo d > /data/d && cat /tmp/t /data/d; (touch /etc/x) 2>&1 || true'")
	if !strings.HasPrefix(out, "t\nd\n") || !strings.Contains(out, "Read-only file system") {
		t.Fatalf("--read-only --tmpfs /tmp: %q", out)
	}
	// The busybox root file system at /srv/rootfs is read-only in the
	// sandbox: only the tmpfs takes writes.
	out = must(t, "berthctl run --rm --rootfs /srv/rootfs --tmpfs /tmp -- sh -c 'echo ok > /tmp/w && cat /tmp/w; (echo no > /etc/w) 2>&1 || true'")
	if !strings.HasPrefix(out, "ok\n") || !strings.Contains(out, "Read-only file system") {
		t.Fatalf("tmpfs on a read-only root: %q", out)
	}
}

// /etc/hostname, /etc/hosts and /etc/resolv.conf are the container's
// own: generated under its directory and bind-mounted; resolv.conf is the
// host's without loopback nameservers; with the host's network the host's
// files are used.
func TestVolumesEtcFiles(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "cp /etc/resolv.conf /tmp/resolv.saved 2>/dev/null || : > /tmp/resolv.saved; rm -f /etc/resolv.conf; printf 'search example.com\\nnameserver 127.0.0.1\\nnameserver 192.0.2.53\\n' > /etc/resolv.conf")
	t.Cleanup(func() { sh(t, "cat /tmp/resolv.saved > /etc/resolv.conf") })
	id := must(t, "berthctl run -d -h web busybox sleep 1000")
	if got := must(t, "berthctl exec "+id+" cat /etc/hostname"); got != "web" {
		t.Fatalf("/etc/hostname: %q", got)
	}
	hosts := must(t, "berthctl exec "+id+" cat /etc/hosts")
	if !strings.Contains(hosts, "127.0.0.1\tlocalhost") {
		t.Fatalf("/etc/hosts: %q", hosts)
	}
	if got := must(t, "berthctl exec "+id+" cat /etc/resolv.conf"); got != "search example.com\nnameserver 192.0.2.53" {
		t.Fatalf("/etc/resolv.conf: %q", got)
	}
	must(t, "berthctl exec "+id+" grep -q ' /etc/resolv.conf ' /proc/self/mountinfo")
	must(t, "test -f /var/lib/berth/containers/"+id+"/resolv.conf && test -f /var/lib/berth/containers/"+id+"/hostname")
	// The container may change its own files; the host's stay.
	must(t, "berthctl exec "+id+" sh -c 'echo 10.0.0.1 db >> /etc/hosts'")
	must(t, "! grep -q '10.0.0.1 db' /etc/hosts")
	must(t, "berthctl rm -f "+id)
	// Only loopback nameservers: docker's fallbacks.
	must(t, "printf 'nameserver 127.0.0.1\\n' > /etc/resolv.conf")
	if got := must(t, "berthctl run --rm busybox cat /etc/resolv.conf"); got != "nameserver 8.8.8.8\nnameserver 8.8.4.4" {
		t.Fatalf("fallback resolv.conf: %q", got)
	}
	// --network host: the host's files.
	if got := must(t, "berthctl run --rm --network host busybox sh -c 'cat /etc/resolv.conf; cat /etc/hostname'"); got != "nameserver 127.0.0.1\n"+must(t, "hostname") {
		t.Fatalf("host network: %q", got)
	}
	// A mount of the user's at /etc/hosts wins.
	must(t, "printf '1.2.3.4 mine\\n' > /tmp/myhosts")
	if got := must(t, "berthctl run --rm -v /tmp/myhosts:/etc/hosts:ro busybox cat /etc/hosts"); got != "1.2.3.4 mine" {
		t.Fatalf("user's /etc/hosts: %q", got)
	}
}

// Bad mount input is refused at create, naming the mistake, with a
// non-zero exit, and nothing is made: no container, no volume, no host
// directory, no mount.
func TestVolumesBadInput(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "mkdir -p /opt/berth-test/ok")
	for _, tc := range []struct{ args, want string }{
		{"--mount type=bind,source=relative/dir,target=/x", "not an absolute path"},
		{"--mount type=bind,source=/opt/berth-test/nonexistent,target=/x", "bind source path does not exist"},
		{"--mount type=bind,source=/opt/berth-test/ok,target=x", "not an absolute path"},
		{"-v /opt/berth-test/ok:relative:rw", "not an absolute path"},
		{"-v /opt/berth-test/ok:/data:relative", `unknown mode "relative"`},
		{"-v ./data:/data", "invalid characters for a local volume name"},
		{"-v /opt/berth-test/ok:/proc/sys", "managed by the container runtime"},
		{"-v /opt/berth-test/ok:/dev", "managed by the container runtime"},
		{"--tmpfs /t:size=lots", `size "lots"`},
		{"--tmpfs /t:mode=999", `mode "999"`},
		{"--tmpfs /t:bogus", `unknown option "bogus"`},
		{"-v /opt/berth-test/ok:/data:rx", `unknown mode "rx"`},
		{"--mount type=nfs,target=/x", `mount type "nfs"`},
		{"--mount type=volume,source=v1,target=/a,foo=bar", `unknown field "foo"`},
		{"-v newvol:/a --tmpfs /a", "duplicate mount point /a"},
		{"-v newvol:/a --mount type=bind,source=/opt/berth-test/nonexistent,target=/b", "bind source path does not exist"},
		{"-v /opt/berth-test/made:/a --mount type=bind,source=/opt/berth-test/nonexistent,target=/b", "bind source path does not exist"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			_, errOut, code := sh(t, "berthctl run --rm "+tc.args+" busybox true")
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, errOut, tc.want)
			}
			if got := must(t, "berthctl ps -a -q; berthctl volume ls -q; ls /var/lib/berth/containers; ls -A /var/lib/berth/volumes"); got != "" {
				t.Fatalf("left behind: %q", got)
			}
			must(t, "test ! -e /opt/berth-test/made && test ! -e /opt/berth-test/nonexistent")
			noMountsLeft(t)
		})
	}
	// A volume name that is too short, and a volume that does not exist.
	if errOut := fails(t, "berthctl volume create x"); !strings.Contains(errOut, "invalid characters") {
		t.Fatalf("volume create x: %q", errOut)
	}
	if errOut := fails(t, "berthctl volume rm nosuch"); !strings.Contains(errOut, "no such volume") {
		t.Fatalf("volume rm nosuch: %q", errOut)
	}
}

// After kill -9 of berthd, containers with bind mounts, volumes and tmpfs
// are still manageable (exec sees the mounts, stop, rm), volumes are
// still counted as used, and removal leaves no mount under data-root or
// exec-root.
func TestVolumesAfterBerthdKill(t *testing.T) {
	fresh(t)
	loadVolumeImages(t)
	must(t, "mkdir -p /opt/berth-test/h && echo host > /opt/berth-test/h/f")
	a := must(t, "berthctl run -d -v /opt/berth-test/h:/h -v kv:/kv --tmpfs /tmp busybox sleep 1000")
	b := must(t, "berthctl run -d --mount type=bind,source=/opt/berth-test/h,target=/h,readonly -v kv:/kv vol:v1 sleep 1000")
	must(t, "berthctl exec "+a+" sh -c 'echo shared > /kv/s'")
	must(t, "systemctl kill -s KILL berthd.service")
	eventually(t, 10*time.Second, "! systemctl is-active -q berthd.service")
	if got := must(t, "berthctl exec "+b+" sh -c 'cat /h/f /kv/s'"); got != "host\nshared" {
		t.Fatalf("after kill -9: %q", got)
	}
	// Still in use after the restart: the count came back from the records.
	if errOut := fails(t, "berthctl volume rm -f kv"); !strings.Contains(errOut, "running") {
		t.Fatalf("volume rm -f of a volume in use after a restart: %q", errOut)
	}
	must(t, "berthctl stop -t 1 "+a)
	must(t, "systemctl kill -s KILL berthd.service")
	must(t, "berthctl start "+a+" && berthctl exec "+a+" cat /kv/s")
	must(t, "berthctl rm -f -v "+a+" "+b)
	must(t, "berthctl volume rm kv")
	if got := must(t, "berthctl volume ls -q"); got != "" {
		t.Fatalf("volumes left: %q", got)
	}
	noMountsLeft(t)
}

// TestMountTargetThroughImageLink: a mount target that a link in the
// image leads to /dev is refused at create, naming where it leads;
// nothing is made (no container, no host directory, no device nodes in
// one).
func TestMountTargetThroughImageLink(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run --name mk busybox ln -s /dev /mydev && berthctl commit mk linky:1 && berthctl rm mk")
	_, errOut, code := sh(t, "berthctl run --rm -v /opt/berth-test/h:/mydev linky:1 true")
	if code != 125 || !strings.Contains(errOut, `"/mydev"`) || !strings.Contains(errOut, "resolves to") {
		t.Fatalf("a target through a link to /dev: exit %d, %q", code, errOut)
	}
	must(t, "test ! -e /opt/berth-test/h")
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Fatalf("%s containers left", n)
	}
	// A directory onto a file of the image is refused at create, naming
	// both, not by the runtime at each start.
	must(t, "mkdir -p /opt/berth-test/dir")
	_, errOut, code = sh(t, "berthctl create --name kinds -v /opt/berth-test/dir:/etc/passwd busybox true")
	if code != 125 || !strings.Contains(errOut, `"/etc/passwd": a file in the container's file system`) {
		t.Fatalf("a directory onto a file: exit %d, %q", code, errOut)
	}
	// Through a link to an ordinary directory the mount is made there.
	must(t, "berthctl run --name mk2 busybox sh -c 'mkdir /real && ln -s /real /alias' && berthctl commit mk2 linky:2 && berthctl rm mk2")
	if got := must(t, "mkdir -p /opt/berth-test/d && echo hi > /opt/berth-test/d/f && berthctl run --rm -v /opt/berth-test/d:/alias linky:2 cat /real/f"); got != "hi" {
		t.Fatalf("through a link to a directory: %q", got)
	}
}
