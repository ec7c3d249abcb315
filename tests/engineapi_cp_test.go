//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestDockerCLICp: docker cp both ways through the archive endpoints,
// ownership kept with -a, a symlink in the container resolved inside its
// root (never the host's), and docker's message for a missing path.
func TestDockerCLICp(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	docker(t, "run -d --name box busybox sh -c 'mkdir -p /data && echo inside > /data/f && chown 1234:99 /data/f && ln -s /etc /data/evil && sleep 1000'")
	eventually(t, 5e9, dockerEnv+"docker exec box test -L /data/evil")

	// Out of the container, with the container's owner in the tar.
	must(t, "rm -rf /tmp/cpout && mkdir /tmp/cpout")
	docker(t, "cp box:/data/f /tmp/cpout/f")
	if got := must(t, "cat /tmp/cpout/f"); got != "inside" {
		t.Errorf("copied out: %q", got)
	}
	if got := docker(t, "cp box:/data/f - | tar --numeric-owner -tvf - | cut -c12- | cut -d' ' -f1"); got != "1234/99" {
		t.Errorf("owner in the tar: %q", got)
	}

	// Into the container: root-owned without -a, the source owner with -a.
	must(t, "echo from-host > /tmp/cpin && chown 4321:88 /tmp/cpin")
	docker(t, "cp /tmp/cpin box:/data/in")
	if got := docker(t, "exec box stat -c '%u:%g %s' /data/in"); got != "0:0 10" {
		t.Errorf("copied in without -a: %q", got)
	}
	docker(t, "cp -a /tmp/cpin box:/data/in-a")
	if got := docker(t, "exec box stat -c '%u:%g' /data/in-a"); got != "4321:88" {
		t.Errorf("copied in with -a: %q", got)
	}

	// Through the link /data/evil -> /etc: the container's /etc, not the host's.
	must(t, "echo host-secret > /tmp/cpsecret")
	docker(t, "cp /tmp/cpsecret box:/data/evil/hostname-from-cp")
	must(t, "test ! -e /etc/hostname-from-cp")
	if got := docker(t, "exec box cat /etc/hostname-from-cp"); got != "host-secret" {
		t.Errorf("copy through the link: %q", got)
	}
	docker(t, "cp box:/data/evil/hostname-from-cp /tmp/cpout/back")
	if got := must(t, "cat /tmp/cpout/back"); got != "host-secret" {
		t.Errorf("copy out through the link: %q", got)
	}

	_, errOut, code := sh(t, dockerEnv+"docker cp box:/nope /tmp/cpout/")
	if code == 0 || !strings.Contains(errOut, "Could not find the file /nope in container box") {
		t.Errorf("missing path: exit %d, %q", code, errOut)
	}

	// A body that is no tar stream is the client's fault: docker's 400.
	if got := must(t, "head -c 5000 /dev/urandom | curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @- --unix-socket /run/berth/berth.sock 'http://d/v1.51/containers/box/archive?path=/data'"); got != "400" {
		t.Errorf("PUT archive of garbage: HTTP %s, want 400", got)
	}

	// A read-only root file system refuses a copy in (docker's 403).
	docker(t, "run -d --read-only --name ro busybox sleep 1000")
	_, errOut, code = sh(t, dockerEnv+"docker cp /tmp/cpin ro:/cpin")
	if code == 0 || !strings.Contains(errOut, "read-only") {
		t.Errorf("copy into a read-only rootfs: exit %d, %q", code, errOut)
	}
	docker(t, "rm -f ro")

	// A stopped container: its file system, nothing left mounted after.
	docker(t, "stop -t 1 box")
	docker(t, "cp box:/data/f /tmp/cpout/stopped")
	if got := must(t, "cat /tmp/cpout/stopped"); got != "inside" {
		t.Errorf("copy out of a stopped container: %q", got)
	}
	docker(t, "rm box")
	if m := must(t, "findmnt -rn -o TARGET | grep -c '^/var/lib/berth/\\|^/run/berth/' || true"); m != "0" {
		t.Errorf("mounts left behind: %s", m)
	}
}

// TestDockerCLICommit: docker commit with a change, then a run of the new
// image shows the container's changes; a commit of a container that is
// gone is docker's 404.
func TestDockerCLICommit(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	docker(t, "run --name c1 busybox sh -c 'echo committed > /made && rm /bin/vi'")
	id := docker(t, "commit -c 'ENV COMMITTED=yes' -m 'a message' -a 'Ann Author' c1 snap:v1")
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("commit printed %q", id)
	}
	if got := docker(t, "run --rm snap:v1 sh -c 'cat /made; echo $COMMITTED; test -e /bin/vi || echo vi-gone'"); got != "committed\nyes\nvi-gone" {
		t.Errorf("run of the committed image: %q", got)
	}
	if got := docker(t, "image inspect -f '{{.Comment}}|{{.Author}}' snap:v1"); got != "a message|Ann Author" {
		t.Errorf("image inspect of the committed image: %q", got)
	}
	_, errOut, code := sh(t, dockerEnv+"docker commit gone snap:v2")
	if code == 0 || !strings.Contains(errOut, "No such container: gone") {
		t.Errorf("commit of a missing container: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker commit -c 'FROBNICATE x' c1 snap:v3")
	if code == 0 || !strings.Contains(errOut, "FROBNICATE") {
		t.Errorf("commit with a bad change: exit %d, %q", code, errOut)
	}
	if n := must(t, "berthctl images -q | wc -l"); n != "2" {
		t.Errorf("images after the refused commits: %s, want 2", n)
	}
}

// TestDockerCLISize: docker ps --size and inspect --size report the
// container's own layer (the bytes it wrote) and the total.
func TestDockerCLISize(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	docker(t, "run --name sz busybox sh -c 'head -c 300000 /dev/zero > /blob'")
	rw := atoi(t, docker(t, "inspect --size -f '{{.SizeRw}}' sz"))
	total := atoi(t, docker(t, "inspect --size -f '{{.SizeRootFs}}' sz"))
	if rw < 300000 || rw > 400000 || total <= rw {
		t.Errorf("sizes: rw %d, rootfs %d", rw, total)
	}
	if got := docker(t, "ps -a -s --format '{{.Size}}'"); !strings.Contains(got, "kB (virtual ") {
		t.Errorf("ps --size: %q", got)
	}
}

// TestDockerCLIDiffExportStats: docker diff, docker export and docker
// stats through the core's Changes, Export and Stats.
func TestDockerCLIDiffExportStats(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	docker(t, "run -d --name fs busybox sh -c 'echo x > /added; rm /bin/vi; echo y >> /etc/group; sleep 1000'")
	eventually(t, 5e9, dockerEnv+"docker exec fs test -e /added")
	diff := docker(t, "diff fs")
	for _, want := range []string{"A /added", "D /bin/vi", "C /etc/group"} {
		if !strings.Contains(diff, want) {
			t.Errorf("docker diff lacks %q:\n%s", want, diff)
		}
	}
	docker(t, "export -o /tmp/fs.tar fs")
	if got := must(t, "tar -tf /tmp/fs.tar | grep -c -x -e added -e bin/sh -e bin/vi"); got != "2" {
		t.Errorf("export: %s of added, bin/sh (and not bin/vi)", got)
	}
	st := docker(t, "stats --no-stream --format '{{.Name}} {{.PIDs}}' fs")
	if !strings.HasPrefix(st, "fs ") || strings.HasSuffix(st, " 0") {
		t.Errorf("docker stats: %q", st)
	}
	_, errOut, code := sh(t, dockerEnv+"docker diff nosuch")
	if code == 0 || !strings.Contains(errOut, "No such container: nosuch") {
		t.Errorf("diff of a missing container: exit %d, %q", code, errOut)
	}
	docker(t, "rm -f fs")
	if m := must(t, "findmnt -rn -o TARGET | grep -c '^/var/lib/berth/\\|^/run/berth/' || true"); m != "0" {
		t.Errorf("mounts left behind: %s", m)
	}
}

// TestDockerCLIEnvUnset: -e NAME with NAME unset in the caller's shell
// reaches berthd as NAME alone, which docker's API takes as "unset it":
// the run and the exec work, and the variable is not there.
func TestDockerCLIEnvUnset(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	if got := docker(t, "run --rm -e NOSUCHVAR -e SET=1 busybox sh -c 'echo ${NOSUCHVAR-unset} $SET'"); got != "unset 1" {
		t.Errorf("run -e NAME (unset): %q", got)
	}
	docker(t, "run -d --name envs -e KEEP=1 busybox sleep 1000")
	if got := docker(t, "exec -e NOSUCHVAR -e KEEP envs sh -c 'echo ${NOSUCHVAR-unset} ${KEEP-gone}'"); got != "unset gone" {
		t.Errorf("exec -e NAME (unset): %q", got)
	}
	docker(t, "rm -f envs")
}

// TestDockerCLILogin: docker login checks the credentials against the
// registry (POST /auth); the CLI keeps them and a pull of a private image
// then works; wrong credentials are refused, and nothing is kept.
func TestDockerCLILogin(t *testing.T) {
	fresh(t)
	authRegistry(t)
	// The CLI keeps what login stored: later tests pull without it.
	must(t, "rm -rf /tmp/docker-cli-config")
	t.Cleanup(func() { sh(t, "rm -rf /tmp/docker-cli-config") })
	_, errOut, code := sh(t, dockerEnv+"echo wrong | docker login -u berth --password-stdin 127.0.0.1:5001")
	if code == 0 || !strings.Contains(errOut, "unauthorized") {
		t.Errorf("login with a wrong password: exit %d, %q", code, errOut)
	}
	if out := docker(t, "login -u berth -p s3cret:pass 127.0.0.1:5001 2>&1"); !strings.Contains(out, "Login Succeeded") {
		t.Errorf("login: %q", out)
	}
	if got := docker(t, "run --rm 127.0.0.1:5001/private/busybox echo pulled"); got != "pulled" {
		t.Errorf("run of a private image after login: %q", got)
	}
}
