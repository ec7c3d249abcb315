//go:build e2e

package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// httpdImage starts busybox httpd serving /www/index.html (text) on port
// 80 of the container: the arguments after the image of a run.
const httpd = "busybox sh -c 'mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'"

// TestPublishedPorts: -p HOST:CTR answers on 127.0.0.1 and on the host's
// address on the bridge; -p CTR gets a random host port that inspect
// reports and that answers; a restart keeps the ports working; the
// container's /etc/hosts names it at its address.
func TestPublishedPorts(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run -d --name web -p 8080:80 "+httpd)
	ip := must(t, `berthctl inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' web`)
	gw := must(t, `berthctl inspect -f '{{.NetworkSettings.Networks.bridge.Gateway}}' web`)
	if !strings.HasPrefix(ip, "172.17.") || gw != "172.17.0.1" {
		t.Fatalf("web on the default bridge: address %q gateway %q", ip, gw)
	}
	for _, url := range []string{"http://127.0.0.1:8080/", "http://" + gw + ":8080/", "http://" + ip + ":80/"} {
		if got := eventually(t, 10*time.Second, "curl -sSf -m 2 "+url); !strings.HasPrefix(got, "hello from") {
			t.Errorf("%s: %q", url, got)
		}
	}
	if got := must(t, `berthctl inspect -f '{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}} {{.HostConfig.NetworkMode}}' web`); got != `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]} {"80/tcp":[{"HostIp":"","HostPort":"8080"}]} bridge` {
		t.Errorf("inspect ports: %s", got)
	}
	if hosts := must(t, "berthctl exec web cat /etc/hosts"); !strings.Contains(hosts, ip+"\t") {
		t.Errorf("/etc/hosts lacks the container's own address %s:\n%s", ip, hosts)
	}

	// -p 80: a random host port.
	must(t, "berthctl run -d --name rnd -p 80 "+httpd)
	port := must(t, `berthctl inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' rnd`)
	if port == "" || port == "80" || port == "8080" {
		t.Fatalf("random host port: %q", port)
	}
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+port+"/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("random port %s: %q", port, got)
	}

	// A restart keeps the published port working.
	must(t, "berthctl restart -t 1 web")
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8080/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("after restart: %q", got)
	}
	// Stopped: no ports, no addresses.
	must(t, "berthctl stop -t 1 web")
	if got := must(t, `berthctl inspect -f '{{json .NetworkSettings.Ports}} [{{.NetworkSettings.Networks.bridge.IPAddress}}]' web`); got != "{} [invalid IP]" && got != "{} []" {
		t.Errorf("stopped container's network settings: %s", got)
	}
	fails(t, "curl -sSf -m 2 http://127.0.0.1:8080/")
	must(t, "berthctl rm -f web rnd")
	noLeftovers(t)
}

// TestNetworkCleanup: nothing of a container's network outlives it: after
// rm -f of 20 running containers with published ports, after kill -9 of
// berthd during starts, and after kill -9 of a container's monitor.
func TestNetworkCleanup(t *testing.T) {
	fresh(t)
	// Counted before: the sandbox's own (none of berth's).
	const count = "echo $(ip -o link | wc -l) links, $(ls /run/netns 2>/dev/null | wc -l) namespaces, $(iptables-save | grep -c -- '--to-destination') forwarding rules"
	base := must(t, count)

	must(t, `for i in $(seq 20); do berthctl run -d --name c$i -p $((9000 + i)):80 --rootfs /srv/rootfs sleep 1000 >/dev/null & done; wait`)
	if n := must(t, "ls /run/netns | grep -c ^berth-"); n != "20" {
		t.Fatalf("20 running containers, %s network namespaces", n)
	}
	if n := must(t, "ls /run/berth/networks/attachments | wc -l"); n != "20" {
		t.Fatalf("20 running containers, %s attachments", n)
	}
	must(t, "berthctl ps -q | xargs berthctl rm -f >/dev/null")
	noLeftovers(t)

	// kill -9 of berthd while containers start.
	must(t, `for i in $(seq 6); do timeout 20 berthctl run -d --name k$i -p $((9100 + i)):80 --rootfs /srv/rootfs sleep 1000 >/dev/null 2>&1 & done
sleep 0.3; kill -9 $(systemctl show -p MainPID --value berthd); wait; true`)
	// The next activation settles the interrupted starts and tears down
	// what they left; rm -f of what runs leaves nothing.
	eventually(t, 30*time.Second, "berthctl ps -a -q >/dev/null")
	must(t, "sleep 1; berthctl ps -a -q | xargs -r berthctl rm -f >/dev/null")
	noLeftovers(t)

	// kill -9 of a monitor: berthd ends the run and its network, at a
	// stop, or on its own when the scope is stopped by systemctl.
	id := must(t, "berthctl run -d -p 9200:80 --rootfs /srv/rootfs sleep 1000")
	must(t, "kill -9 "+monitorPID(t, id))
	must(t, "berthctl stop -t 1 "+id)
	eventually(t, 20*time.Second, noNetworkLeftovers)
	must(t, "berthctl rm -f "+id)
	noLeftovers(t)
	id = must(t, "berthctl run -d -p 9201:80 --rootfs /srv/rootfs sleep 1000")
	must(t, "kill -9 "+monitorPID(t, id)+" && systemctl stop berth-"+id+".scope")
	eventually(t, 20*time.Second, "[ \"$(berthctl inspect -f '{{.State.Status}}' "+id+")\" = exited ] && "+noNetworkLeftovers)
	must(t, "berthctl rm -f "+id)
	noLeftovers(t)
	if got := must(t, count); got != base {
		t.Errorf("%q before, %q after", base, got)
	}
}

// TestNetworkNoneAndHost: --network none keeps a loopback only, host the
// host's interfaces, and default-network none makes none the default.
func TestNetworkNoneAndHost(t *testing.T) {
	fresh(t)
	if got := must(t, "berthctl run --rm --network none --rootfs /srv/rootfs ls /sys/class/net"); got != "lo" {
		t.Errorf("--network none: %q", got)
	}
	if got := must(t, "berthctl run --rm --rootfs /srv/rootfs ls /sys/class/net"); got != "eth0\nlo" {
		t.Errorf("default (bridge): %q", got)
	}
	config(t, "default-network = \"none\"\n")
	must(t, "systemctl restart berthd")
	if got := must(t, "berthctl run --rm --rootfs /srv/rootfs ls /sys/class/net"); got != "lo" {
		t.Errorf("default-network none: %q", got)
	}
	// host-gateway names the default bridge's gateway, whatever the
	// container's network.
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	if got := must(t, "berthctl run --rm --add-host gw:host-gateway busybox grep gw /etc/hosts"); got != "172.17.0.1\tgw" {
		t.Errorf("--add-host gw:host-gateway: %q", got)
	}
	hostIfs := must(t, "ls /sys/class/net")
	if got := must(t, "berthctl run --rm --network host --rootfs /srv/rootfs ls /sys/class/net"); got != hostIfs {
		t.Errorf("--network host: %q, host %q", got, hostIfs)
	}
	// A malformed -p and ports with the none or host mode: refused, nothing left.
	for _, args := range []string{"-p 80:80:80:80", "-p abc", "-p 70000:80", "-p 80/sctp", "--network none -p 8080:80", "--network nosuch",
		"-p 1-65535:1-65535", "--expose 1-65535 -P"} {
		errOut := fails(t, fmt.Sprintf("berthctl run -d --name bad %s --rootfs /srv/rootfs true", args))
		if !strings.Contains(errOut, "publish") && !strings.Contains(errOut, "port") && !strings.Contains(errOut, "nosuch") {
			t.Errorf("%s: unclear error %q", args, errOut)
		}
		if got := must(t, "berthctl ps -a -q"); got != "" {
			t.Errorf("%s left a container: %s", args, got)
		}
	}
	// No network on the loopback, link-local, multicast or reserved
	// ranges; no published ports on an internal network.
	for _, sn := range []string{"127.0.0.0/8", "127.5.0.0/16", "169.254.0.0/16", "224.0.0.0/24", "240.1.0.0/16", "0.0.0.0/8"} {
		if errOut := fails(t, "berthctl network create --subnet "+sn+" special"); !strings.Contains(errOut, "overlaps") {
			t.Errorf("--subnet %s: %q", sn, errOut)
		}
	}
	must(t, "berthctl network create --internal --subnet 10.30.0.0/24 intnet")
	if errOut := fails(t, "berthctl create --network intnet -p 8099:80 --rootfs /srv/rootfs true"); !strings.Contains(errOut, "internal") {
		t.Errorf("-p on an internal network: %q", errOut)
	}
	if got := must(t, "berthctl network ls --format '{{.Name}}'"); got != "bridge\nhost\nintnet\nnone" {
		t.Errorf("networks after the refusals: %q", got)
	}
	must(t, "berthctl network rm intnet")
	noLeftovers(t)
}

// TestNetworkAfterReboot: a reboot (simulated: berthd stopped, the scope
// killed, what lives in /run and in the kernel gone, the boot id of the
// record changed) leaves the container exited; its next start gets its
// network and published port again, and nothing of the old run's
// network is looked for.
func TestNetworkAfterReboot(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run -d --name rb -p 8400:80 "+httpd)
	id := must(t, "berthctl inspect -f '{{.Id}}' rb")
	eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8400/")
	must(t, "systemctl stop berthd.service && systemctl kill -s KILL berth-"+id+".scope")
	eventually(t, 10*time.Second, "! systemctl is-active -q berth-"+id+".scope")
	// What a reboot takes: /run's state, namespaces, links, firewall rules.
	must(t, `rm -rf /run/berth/containers/`+id+` /run/berth/runc/`+id+` /run/berth/networks
for ns in /run/netns/berth-*; do umount -l "$ns"; rm -f "$ns"; done
for br in $(ls /sys/class/net | grep -E '^(berth0|br-)'); do ip link del "$br"; done
for tb in filter nat; do iptables -t $tb -F; iptables -t $tb -X; done
sed -i 's/"boot_id": "[0-9a-f-]*"/"boot_id": "00000000000000000000000000000000"/' /var/lib/berth/containers/`+id+`/container.json`)
	if st := inspectField(t, "rb", "State"); st != "exited" {
		t.Fatalf("state after reboot %q", st)
	}
	must(t, "berthctl start rb")
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8400/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("after the reboot: %q", got)
	}
	must(t, "berthctl rm -f rb")
	noLeftovers(t)
}
