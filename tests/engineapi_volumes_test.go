//go:build e2e

package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestDockerCLIVolumes: docker volume create/ls/inspect/rm/prune through
// the Engine API, a named volume shared by two runs, and docker's
// messages for the refusals.
func TestDockerCLIVolumes(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")

	if out := docker(t, "volume create --label team=a data"); out != "data" {
		t.Fatalf("volume create: %q", out)
	}
	docker(t, "volume create --label team=b other")
	anon := docker(t, "volume create")
	if len(anon) != 64 {
		t.Fatalf("volume create without a name: %q", anon)
	}
	if ls := docker(t, "volume ls -q"); ls != strings.Join(sortedLines(anon, "data", "other"), "\n") {
		t.Errorf("volume ls -q: %q", ls)
	}
	if ls := docker(t, "volume ls -q --filter label=team=a"); ls != "data" {
		t.Errorf("volume ls --filter label=team=a: %q", ls)
	}
	if ls := docker(t, "volume ls -q --filter name=oth --filter driver=local"); ls != "other" {
		t.Errorf("volume ls --filter name=oth: %q", ls)
	}
	var vols []map[string]any
	out := docker(t, "volume inspect data")
	if err := json.Unmarshal([]byte(out), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("volume inspect: %q %v", out, err)
	}
	v := vols[0]
	if v["Name"] != "data" || v["Driver"] != "local" || v["Scope"] != "local" || v["Mountpoint"] != "/var/lib/berth/volumes/data/_data" ||
		v["Labels"].(map[string]any)["team"] != "a" || v["Options"] == nil || v["CreatedAt"] == "" {
		t.Errorf("volume inspect: %v", v)
	}
	// A second create of the same name returns it (docker's create is
	// idempotent).
	if out := docker(t, "volume create data"); out != "data" {
		t.Errorf("second create: %q", out)
	}

	// -v NAME:/path shares the content between runs.
	docker(t, "run --rm -v data:/data busybox sh -c 'echo kept > /data/f'")
	if got := docker(t, "run --rm -v data:/data:ro busybox cat /data/f"); got != "kept" {
		t.Errorf("second run reads %q", got)
	}
	if got := must(t, "cat /var/lib/berth/volumes/data/_data/f"); got != "kept" {
		t.Errorf("host sees %q", got)
	}

	// In use: docker's 409 "volume is in use" naming the container.
	id := docker(t, "run -d --name user -v data:/data busybox sleep 1000")
	if ls := docker(t, "volume ls -q --filter dangling=false"); ls != "data" {
		t.Errorf("volume ls --filter dangling=false: %q", ls)
	}
	_, errOut, code := sh(t, dockerEnv+"docker volume rm data")
	if code == 0 || !strings.Contains(errOut, "remove data: volume is in use - ["+id+"]") {
		t.Errorf("rm of a volume in use: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker volume rm -f data")
	if code == 0 || !strings.Contains(errOut, "volume is in use") {
		t.Errorf("rm -f of a volume a running container uses: exit %d, %q", code, errOut)
	}
	must(t, "test -d /var/lib/berth/volumes/data/_data")
	docker(t, "rm -f user")

	// Unknown volumes.
	_, errOut, code = sh(t, dockerEnv+"docker volume inspect nosuch")
	if code == 0 || !strings.Contains(errOut, "no such volume") || !strings.Contains(errOut, "nosuch") {
		t.Errorf("inspect nosuch: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker volume rm nosuch")
	if code == 0 || !strings.Contains(errOut, "get nosuch: no such volume") {
		t.Errorf("rm nosuch: exit %d, %q", code, errOut)
	}
	docker(t, "volume rm -f nosuch")

	// Refused creates leave nothing.
	_, errOut, code = sh(t, dockerEnv+"docker volume create --driver nfs v2")
	if code == 0 || !strings.Contains(errOut, `volume driver "nfs"`) {
		t.Errorf("create --driver nfs: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker volume create -o type=tmpfs -o device=tmpfs v3")
	if code == 0 || !strings.Contains(errOut, "volume driver options (device, type): not supported by berth") {
		t.Errorf("create -o: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker volume create 'bad/name'")
	if code == 0 || !strings.Contains(errOut, "invalid characters") {
		t.Errorf("create bad/name: exit %d, %q", code, errOut)
	}
	if ls := docker(t, "volume ls -q | grep -c -e v2 -e v3 -e bad || true"); ls != "0" {
		t.Errorf("refused creates left volumes: %s", ls)
	}

	// prune: anonymous only; -a named too, with label filters.
	// (rm without -v leaves a container's anonymous volume.)
	docker(t, "run --name a -v /anon busybox true")
	docker(t, "rm a")
	if n := docker(t, "volume ls -q | wc -l"); n != "4" {
		t.Fatalf("volumes before prune: %s, want 4", n)
	}
	out = docker(t, "volume prune -f")
	if !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("volume prune: %q", out)
	}
	if ls := docker(t, "volume ls -q"); ls != strings.Join(sortedLines(anon, "data", "other"), "\n") {
		t.Errorf("after prune: %q", ls)
	}
	out = docker(t, "volume prune -a -f --filter label!=team=a")
	if !strings.Contains(out, "other") || strings.Contains(out, "\ndata") {
		t.Errorf("volume prune -a --filter label!=team=a: %q", out)
	}
	if ls := docker(t, "volume ls -q"); ls != "data" {
		t.Errorf("after prune -a: %q", ls)
	}
	docker(t, "volume rm data")
	if ls := docker(t, "volume ls -q"); ls != "" {
		t.Errorf("after rm: %q", ls)
	}
	must(t, "test ! -e /var/lib/berth/volumes/data")
}

// TestDockerCLIMounts: -v NAME:/path, --mount, --tmpfs and -v
// /host:/ctr:ro through HostConfig.Binds, Mounts and Tmpfs.
func TestDockerCLIMounts(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "rm -rf /opt/berth-api && mkdir -p /opt/berth-api && echo host > /opt/berth-api/f")

	// Binds: a host directory read-only, a named volume made on first use.
	_, errOut, code := sh(t, dockerEnv+"docker run --rm -v /opt/berth-api:/h:ro busybox sh -c 'cat /h/f; echo x > /h/g'")
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("-v host:ctr:ro write: exit %d, %q", code, errOut)
	}
	must(t, "test ! -e /opt/berth-api/g")
	if got := docker(t, "run --rm -v /opt/berth-api:/h busybox sh -c 'cat /h/f; echo y > /h/g'"); got != "host" {
		t.Errorf("-v host:ctr read: %q", got)
	}
	must(t, "test -f /opt/berth-api/g")
	docker(t, "run --rm -v auto:/a busybox sh -c 'echo 1 > /a/one'")
	if got := docker(t, "volume inspect -f '{{.Name}} {{.Driver}}' auto"); got != "auto local" {
		t.Errorf("volume made by -v: %q", got)
	}

	// Mounts: volume and bind, with readonly.
	if got := docker(t, "run --rm --mount type=volume,src=auto,dst=/m busybox cat /m/one"); got != "1" {
		t.Errorf("--mount type=volume: %q", got)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --mount type=bind,src=/opt/berth-api,dst=/b,readonly busybox touch /b/z")
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("--mount bind readonly: exit %d, %q", code, errOut)
	}
	docker(t, "run --rm --mount type=volume,src=labelled,dst=/l,volume-label=k=v busybox true")
	if got := docker(t, "volume inspect -f '{{.Labels.k}}' labelled"); got != "v" {
		t.Errorf("--mount volume-label: %q", got)
	}

	// Tmpfs: --tmpfs and --mount type=tmpfs.
	if got := docker(t, "run --rm --tmpfs /scratch busybox sh -c 'grep \" /scratch \" /proc/mounts | cut -d\" \" -f3'"); got != "tmpfs" {
		t.Errorf("--tmpfs: %q", got)
	}
	if got := docker(t, "run --rm --mount type=tmpfs,dst=/t,tmpfs-size=1m busybox sh -c 'df -k /t | tail -1'"); !strings.Contains(got, " 1024 ") {
		t.Errorf("--mount type=tmpfs,tmpfs-size=1m: %q", got)
	}

	// inspect shows the mounts in docker's shape.
	docker(t, "create --name m -v auto:/a -v /opt/berth-api:/h:ro --tmpfs /t busybox true")
	out := docker(t, "inspect -f '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}};{{end}}' m")
	if !strings.Contains(out, "volume auto /a true;") || !strings.Contains(out, "bind  /h false;") {
		t.Errorf("inspect Mounts: %q", out)
	}
	if out := docker(t, "inspect -f '{{json .HostConfig.Tmpfs}}' m"); out != `{"/t":""}` {
		t.Errorf("inspect HostConfig.Tmpfs: %q", out)
	}
	docker(t, "rm m")

	// A bad mount is refused by name, and leaves no container.
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --mount type=volume,src=x1,dst=/v,volume-subpath=sub busybox true")
	if code != 125 || !strings.Contains(errOut, "VolumeOptions.Subpath") {
		t.Errorf("volume-subpath: exit %d, %q", code, errOut)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("refused runs left %s containers", n)
	}
}

func sortedLines(s ...string) []string { return slices.Sorted(slices.Values(s)) }
