//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// TestNetworkContainerMode: --network container:NAME shares the other
// container's namespace (its address, its loopback, its host name), has
// no network of its own to tear down, and is refused with ports or when
// the other container does not run.
func TestNetworkContainerMode(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run -d --name web --hostname webhost -p 8081:80 "+httpd)
	ip := must(t, `berthctl inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' web`)
	eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8081/")
	// The joiner reaches web's server on its own loopback and has web's
	// address and host name.
	if got := must(t, "berthctl run --rm --network container:web busybox wget -qO- http://127.0.0.1:80/"); got != "hello from webhost" {
		t.Errorf("wget through the shared loopback: %q", got)
	}
	if got := must(t, "berthctl run --rm --network container:web busybox sh -c 'hostname; ip -4 -o addr show eth0'"); !strings.HasPrefix(got, "webhost\n") || !strings.Contains(got, ip+"/") {
		t.Errorf("joiner's host name and address: %q (web has %s)", got, ip)
	}
	if got := must(t, "ls /run/netns | grep -c ^berth-"); got != "1" {
		t.Errorf("namespaces with a joiner running: %s, want web's only", got)
	}
	if mode := must(t, `berthctl create --name joiner --network container:web busybox true >/dev/null && berthctl inspect -f '{{.HostConfig.NetworkMode}}' joiner`); !strings.HasPrefix(mode, "container:") {
		t.Errorf("joiner's NetworkMode: %q", mode)
	}
	for _, args := range []string{"-p 8082:80", "--hostname x", "--dns 1.1.1.1", "--network-alias a"} {
		if errOut := fails(t, "berthctl create --network container:web "+args+" busybox true"); !strings.Contains(errOut, "conflicting options") {
			t.Errorf("%s with container:web: %q", args, errOut)
		}
	}
	must(t, "berthctl stop -t 1 web")
	if errOut := fails(t, "berthctl start joiner"); !strings.Contains(errOut, "not running") {
		t.Errorf("start of a joiner of a stopped container: %q", errOut)
	}
	must(t, "berthctl rm -f web joiner")
	noLeftovers(t)
}

// TestPublishAllAndRanges: -P publishes --expose'd ports on random host
// ports; -p with ranges maps each port of the range; a host range gives
// the first free port of it; a port bound to 127.0.0.1 answers there
// only.
func TestPublishAllAndRanges(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	// Two servers in one container, on 80 and 81.
	two := "busybox sh -c 'mkdir -p /www && echo hi > /www/index.html && httpd -p 80 -h /www && exec httpd -f -p 81 -h /www'"
	must(t, "berthctl run -d --name all --expose 80 --expose 81 -P "+two)
	for _, p := range []string{"80/tcp", "81/tcp"} {
		hp := must(t, `berthctl inspect -f '{{(index (index .NetworkSettings.Ports "`+p+`") 0).HostPort}}' all`)
		if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+hp+"/"); got != "hi" {
			t.Errorf("-P %s on %s: %q", p, hp, got)
		}
	}
	must(t, "berthctl run -d --name rng -p 8200-8201:80-81 "+two)
	for _, hp := range []string{"8200", "8201"} {
		if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+hp+"/"); got != "hi" {
			t.Errorf("range port %s: %q", hp, got)
		}
	}
	// 8200 is taken: a host range gives its first free port.
	must(t, "berthctl run -d --name hr -p 8200-8210:80 "+two)
	if hp := must(t, `berthctl inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' hr`); hp != "8202" {
		t.Errorf("host range 8200-8210 with 8200 and 8201 taken: %s, want 8202", hp)
	}
	// Bound to 127.0.0.1: not on the bridge's address.
	must(t, "berthctl run -d --name lo -p 127.0.0.1:8300:80 "+two)
	gw := must(t, `berthctl inspect -f '{{.NetworkSettings.Networks.bridge.Gateway}}' lo`)
	eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8300/")
	fails(t, "curl -sSf -m 2 http://"+gw+":8300/")
	// A fixed port another container publishes: refused, nothing left.
	errOut := fails(t, "berthctl run -d --name clash -p 8300:80 "+two)
	if !strings.Contains(errOut, "8300") || !strings.Contains(errOut, "already") {
		t.Errorf("clash on 8300: %q", errOut)
	}
	// berthctl run removes a container whose start failed.
	if errOut := fails(t, "berthctl inspect clash"); !strings.Contains(errOut, "no such container") {
		t.Errorf("clash after its refused start: %q", errOut)
	}
	// A created container's refused start leaves it created, with no
	// network.
	must(t, "berthctl create --name clash2 -p 8300:80 "+two)
	if errOut := fails(t, "berthctl start clash2"); !strings.Contains(errOut, "8300") {
		t.Errorf("start of clash2: %q", errOut)
	}
	if st := must(t, "berthctl inspect -f '{{.State.Status}} {{json .NetworkSettings.Ports}}' clash2"); st != "created {}" {
		t.Errorf("clash2 after its refused start: %s", st)
	}
	if n := must(t, "ls /run/netns | grep -c ^berth-"); n != "4" {
		t.Errorf("namespaces: %s, want 4 (the refused start's gone)", n)
	}
	must(t, "berthctl rm -f all rng hr lo clash2")
	noLeftovers(t)
}

// TestUserNetworkWithoutBerthd: on a user-defined network, names (the
// container's, its short id, an alias) resolve through aardvark-dns,
// which runs in a systemd unit of its own, not in berthd's cgroup: with
// berthd stopped, the containers still reach each other by name. The
// container's resolv.conf names the network's gateway; --add-host and
// --hostname still apply.
func TestUserNetworkWithoutBerthd(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl network create --subnet 10.77.0.0/24 app")
	must(t, "berthctl run -d --name web --network app --network-alias www --hostname webhost "+httpd)
	id := must(t, "berthctl inspect -f '{{.Id}}' web")
	cid := must(t, "berthctl run -d --name client --network app --add-host db.example:10.1.2.3 busybox sleep 1000")
	for _, name := range []string{"web", "www", id[:12]} {
		if got := eventually(t, 10*time.Second, "berthctl exec client timeout 5 wget -qO- http://"+name+"/"); got != "hello from webhost" {
			t.Errorf("wget http://%s/: %q", name, got)
		}
	}
	if got := must(t, "berthctl exec client cat /etc/resolv.conf"); !strings.Contains(got, "nameserver 10.77.0.1") {
		t.Errorf("resolv.conf on a user network:\n%s", got)
	}
	if got := must(t, "berthctl exec client cat /etc/hosts"); !strings.Contains(got, "10.1.2.3\tdb.example") {
		t.Errorf("--add-host on a user network:\n%s", got)
	}
	// aardvark-dns is a unit of its own, never in berthd's cgroup.
	unit := must(t, "systemctl status $(pgrep -x aardvark-dns) --no-pager | head -1")
	if !strings.Contains(unit, ".scope") || strings.Contains(unit, "berthd") {
		t.Errorf("aardvark-dns runs in %q, want a scope of its own", unit)
	}
	must(t, "systemctl stop berthd.service && ! systemctl is-active -q berthd.service")
	if got := must(t, "ip netns exec berth-"+id+" ip -4 -o addr show eth0 | grep -c 10.77.0."); got != "1" {
		t.Errorf("web's namespace with berthd stopped: %q", got)
	}
	// Names resolve and the server answers with berthd gone (the client
	// runs wget in its own namespace through ip netns).
	if got := must(t, "ip netns exec berth-"+cid+" busybox nslookup web 10.77.0.1 | grep -c 'Address: 10.77.0.'"); got == "0" {
		t.Errorf("web did not resolve with berthd stopped")
	}
	if st := must(t, "systemctl is-active berthd.service || true"); st != "inactive" {
		t.Errorf("berthd %s after a lookup that needs none of it", st)
	}
	must(t, "berthctl rm -f web client")
	must(t, "berthctl network rm app")
	noLeftovers(t)
	if got := must(t, "pgrep -x aardvark-dns || true"); got != "" {
		t.Errorf("aardvark-dns still runs with no container on a network with names: %s", got)
	}
}
