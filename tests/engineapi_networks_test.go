//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestDockerCLINetworks: the networks berth has (its default network
// under docker's name bridge, host, none) listed and inspected as they
// are, runs on each, and clear refusals for what needs berth's own
// networks.
func TestDockerCLINetworks(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")

	if ls := docker(t, "network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'"); ls != "bridge null local\nhost host local\nnone null local" {
		t.Errorf("network ls: %q", ls)
	}
	if got := docker(t, "network inspect -f '{{.Name}} {{.Driver}} {{index .Options \"io.berth.network.default\"}} {{len .IPAM.Config}}' bridge"); got != "bridge null none 0" {
		t.Errorf("network inspect bridge: %q", got)
	}
	if ls := docker(t, "network ls -q --filter driver=host"); len(ls) != 12 {
		t.Errorf("network ls --filter driver=host: %q", ls)
	}
	if ls := docker(t, "network ls -q --filter type=custom"); ls != "" {
		t.Errorf("network ls --filter type=custom: %q", ls)
	}
	id := docker(t, "network inspect -f '{{.Id}}' host")
	if got := docker(t, "network inspect -f '{{.Name}}' "+id[:12]); got != "host" {
		t.Errorf("network inspect by id prefix: %q", got)
	}

	// The default (NetworkMode default, bridge): loopback only, as none.
	for _, flag := range []string{"", "--network bridge", "--network none"} {
		if got := docker(t, "run --rm "+flag+" busybox ls /sys/class/net"); got != "lo" {
			t.Errorf("run %s: interfaces %q, want lo only", flag, got)
		}
	}
	// host: the host's interfaces.
	hostIfs := must(t, "ls /sys/class/net")
	if got := docker(t, "run --rm --network host busybox ls /sys/class/net"); got != hostIfs {
		t.Errorf("run --network host: interfaces %q, want the host's %q", got, hostIfs)
	}
	docker(t, "run -d --name onhost --network host busybox sleep 1000")
	if got := docker(t, "network inspect -f '{{range .Containers}}{{.Name}} {{end}}' host"); got != "onhost" {
		t.Errorf("host network's containers: %q", got)
	}
	if got := docker(t, "inspect -f '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' onhost"); got != "host host" {
		t.Errorf("inspect of a container on host: %q", got)
	}
	docker(t, "rm -f onhost")

	// Refusals: docker's words for an unknown network (and no pull of the
	// image the CLI would try on a 404), clear ones for the rest.
	_, errOut, code := sh(t, dockerEnv+"docker run --rm --network nosuch busybox true")
	if code != 125 || !strings.Contains(errOut, "network nosuch not found") || strings.Contains(errOut, "Unable to find image") {
		t.Errorf("run --network nosuch: exit %d, %q", code, errOut)
	}
	for _, flag := range []string{"--ip 10.1.2.3", "--network host --ip 10.1.2.3", "--mac-address 02:42:ac:11:00:02"} {
		_, errOut, code = sh(t, dockerEnv+"docker run --rm "+flag+" busybox true")
		if code != 125 || !strings.Contains(errOut, "endpoint settings (aliases, addresses, links, driver options) are not supported by berth") {
			t.Errorf("run %s: exit %d, %q", flag, code, errOut)
		}
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --network container:x busybox true")
	if code != 125 || !strings.Contains(errOut, "sharing another container's network is not supported") {
		t.Errorf("run --network container:x: exit %d, %q", code, errOut)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("refused runs left %s containers", n)
	}
	_, errOut, code = sh(t, dockerEnv+"docker network inspect nosuch")
	if code == 0 || !strings.Contains(errOut, "network nosuch not found") {
		t.Errorf("network inspect nosuch: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker network create mynet")
	if code == 0 || !strings.Contains(errOut, "arrive with berth's network support") {
		t.Errorf("network create: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker network rm bridge")
	if code == 0 || !strings.Contains(errOut, "bridge is a pre-defined network and cannot be removed") {
		t.Errorf("network rm bridge: exit %d, %q", code, errOut)
	}
	docker(t, "network prune -f")
	if n := docker(t, "network ls -q | wc -l"); n != "3" {
		t.Errorf("networks after the refusals: %s", n)
	}
}
