//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// dockerEnv points the docker CLI 28 (/usr/local/bin/docker) at berth's
// socket; a config directory of its own keeps the host's out.
const dockerEnv = "export DOCKER_HOST=unix:///run/berth/berth.sock DOCKER_CONFIG=/tmp/docker-cli-config; "

func docker(t *testing.T, args string) string {
	t.Helper()
	return must(t, dockerEnv+"docker "+args)
}

// TestDockerCLIBasics: version negotiation, info, a foreground run --rm
// with its output and exit code, a detached run, ps, logs, inspect
// templates, stop and rm, through the unmodified docker CLI.
func TestDockerCLIBasics(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")

	if v := docker(t, "version --format '{{.Server.APIVersion}} {{.Server.Os}}'"); v != "1.51 linux" && !strings.HasSuffix(v, " linux") {
		t.Errorf("docker version: %q", v)
	}
	info := docker(t, "info --format '{{.CgroupDriver}} {{.CgroupVersion}} {{.DockerRootDir}} {{.Images}} {{.Swarm.LocalNodeState}}'")
	if info != "systemd 2 /var/lib/berth 1 inactive" {
		t.Errorf("docker info: %q", info)
	}
	if out := docker(t, "run --rm busybox echo hi"); out != "hi" {
		t.Errorf("docker run --rm echo hi: %q", out)
	}
	_, _, code := sh(t, dockerEnv+"docker run --rm busybox sh -c 'echo out; echo err >&2; exit 3'")
	if code != 3 {
		t.Errorf("docker run exit code: %d, want 3", code)
	}
	out, errOut, _ := sh(t, dockerEnv+"docker run --rm busybox sh -c 'echo out; echo err >&2; exit 3'")
	if strings.TrimSpace(out) != "out" || strings.TrimSpace(errOut) != "err" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("run --rm left %s containers", n)
	}

	id := docker(t, "run -d --name web -l tier=front busybox sh -c 'echo started; sleep 1000'")
	if len(id) != 64 {
		t.Fatalf("run -d printed %q", id)
	}
	if ps := docker(t, "ps --format '{{.Names}} {{.Image}} {{.Status}}'"); !strings.HasPrefix(ps, "web busybox Up") {
		t.Errorf("docker ps: %q", ps)
	}
	if ps := docker(t, "ps -q --filter label=tier=front"); ps != id[:12] {
		t.Errorf("docker ps --filter label: %q, want %s", ps, id[:12])
	}
	if ps := docker(t, "ps -q --filter label=tier=back"); ps != "" {
		t.Errorf("docker ps --filter label=tier=back: %q", ps)
	}
	eventually(t, 5e9, dockerEnv+"docker logs web | grep -qx started")
	if name := docker(t, "inspect --format '{{.Name}} {{.State.Status}} {{.Config.Labels.tier}} {{len .Mounts}}' web"); name != "/web running front 0" {
		t.Errorf("docker inspect: %q", name)
	}
	if ex := docker(t, "exec web sh -c 'echo in-$((6*7))'"); ex != "in-42" {
		t.Errorf("docker exec: %q", ex)
	}
	_, _, code = sh(t, dockerEnv+"docker exec web sh -c 'exit 5'")
	if code != 5 {
		t.Errorf("docker exec exit code %d, want 5", code)
	}
	docker(t, "stop -t 1 web")
	if st := docker(t, "inspect --format '{{.State.Status}}' web"); st != "exited" {
		t.Errorf("after stop: %q", st)
	}
	docker(t, "rm web")
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("rm left %s containers", n)
	}
}

// TestDockerCLIErrors: docker's messages for the common refusals.
func TestDockerCLIErrors(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	_, errOut, code := sh(t, dockerEnv+"docker inspect nosuch")
	if code == 0 || !strings.Contains(errOut, "No such object: nosuch") && !strings.Contains(errOut, "No such container: nosuch") {
		t.Errorf("inspect nosuch: code %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker rm nosuch")
	if code == 0 || !strings.Contains(errOut, "No such container: nosuch") {
		t.Errorf("rm nosuch: code %d, %q", code, errOut)
	}
	docker(t, "run -d --name busy busybox sleep 1000")
	_, errOut, code = sh(t, dockerEnv+"docker run -d --name busy busybox true")
	if code == 0 || !strings.Contains(errOut, `The container name "/busy" is already in use`) {
		t.Errorf("name clash: code %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker rm busy")
	if code == 0 || !strings.Contains(errOut, "container is running") {
		t.Errorf("rm running: code %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm busybox nosuchcommand")
	if code != 127 {
		t.Errorf("run of a missing command: exit %d (%q), want 127", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --log-driver syslog busybox true")
	if code != 125 || !strings.Contains(errOut, "LogConfig.Type") {
		t.Errorf("unsupported option: exit %d, %q", code, errOut)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "1" {
		t.Errorf("refused runs left containers: %s", n)
	}
	out := must(t, "curl -s --unix-socket /run/berth/berth.sock http://d/v1.99/version; echo; curl -s --unix-socket /run/berth/berth.sock http://d/v1.12/version")
	if !strings.Contains(out, "client version 1.99 is too new") || !strings.Contains(out, "client version 1.12 is too old") {
		t.Errorf("version bounds: %q", out)
	}
	if got := must(t, "curl -s --unix-socket /run/berth/berth.sock http://d/v1.51/nosuch/endpoint"); !strings.Contains(got, `"message":"page not found`) {
		t.Errorf("an unknown endpoint: %q", got)
	}
	// The CLI writes --cidfile itself; berth accepts the field.
	must(t, "rm -f /tmp/cid")
	docker(t, "run --rm --cidfile /tmp/cid busybox true")
	if got := must(t, "wc -c < /tmp/cid"); got != "64" {
		t.Errorf("--cidfile: %s bytes", got)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --platform linux/s390x busybox true")
	if code != 125 || !strings.Contains(errOut, "this host's platform") {
		t.Errorf("--platform of another architecture: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --cpus 1000 busybox true")
	if code != 125 || !strings.Contains(errOut, "range of CPUs is from 0.01") {
		t.Errorf("--cpus 1000: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm busybox nosuchcommand")
	if strings.Contains(errOut, "No such container") {
		t.Errorf("a failed --rm run printed %q", errOut)
	}
	// A container whose image name now names another image (or none)
	// shows its image's id, as docker.
	docker(t, "tag busybox mine:v1")
	docker(t, "create --name oldname mine:v1 true")
	if got := docker(t, "ps -a --filter name=oldname --format '{{.Image}}'"); got != "mine:v1" {
		t.Errorf("ps image while the name holds: %q", got)
	}
	docker(t, "rmi mine:v1")
	if got := docker(t, "ps -a --filter name=oldname --format '{{.Image}}'"); !strings.HasPrefix(got, "sha256:") && len(got) != 12 {
		t.Errorf("ps image after the name went: %q", got)
	}
	docker(t, "rm oldname")

	// docker system prune goes through container, network, image and
	// build cache prunes.
	if out := docker(t, "system prune -f"); !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("system prune: %q", out)
	}
	// busy runs on the default bridge network.
	if got := docker(t, "ps -a --format '{{.Names}}' --filter network=bridge --filter health=none; docker ps -a -q --filter network=none"); got != "busy" {
		t.Errorf("ps --filter network=bridge, network=none: %q", got)
	}
	if got := docker(t, "info --format '{{(index .RegistryConfig.IndexConfigs \"docker.io\").Official}}'"); got != "true" {
		t.Errorf("info RegistryConfig: %q", got)
	}
	docker(t, "rm -f busy")
}
