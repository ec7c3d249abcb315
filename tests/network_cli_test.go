//go:build e2e

package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// networkRecords counts the networks' records in data-root (the default
// bridge's included).
const networkRecords = "ls /var/lib/berth/networks | wc -l"

// TestNetworkVerbs: network create, ls (columns, -q, filters, --format),
// inspect (docker's JSON array, -f), the D-Bus object of a network, rm and
// prune with docker's filters.
func TestNetworkVerbs(t *testing.T) {
	fresh(t)
	ls := must(t, "berthctl network ls")
	lines := strings.Split(ls, "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "NETWORK ID NAME DRIVER SCOPE" {
		t.Fatalf("network ls:\n%s", ls)
	}
	if got := must(t, "berthctl network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'"); got != "bridge bridge local\nhost host local\nnone null local" {
		t.Errorf("predefined networks: %q", got)
	}

	id := must(t, "berthctl network create --subnet 10.89.0.0/24 --gateway 10.89.0.254 --label app=web front")
	if len(id) != 64 {
		t.Fatalf("network create printed %q, want a 64-hex id", id)
	}
	if got := must(t, `berthctl network inspect -f '{{.Name}} {{.Id}} {{.Driver}} {{.Scope}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Labels.app}} {{.Internal}} {{len .Containers}}' front`); got != "front "+id+" bridge local 10.89.0.0/24 10.89.0.254 web false 0" {
		t.Errorf("network inspect -f: %q", got)
	}
	var arr []map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl network inspect front "+id[:12])), &arr); err != nil || len(arr) != 2 || arr[0]["Id"] != id || arr[1]["Name"] != "front" {
		t.Errorf("network inspect by name and id prefix: %v %v", err, arr)
	}
	back := must(t, "berthctl network create --internal back")
	if got := must(t, `berthctl network inspect -f '{{.Internal}} {{(index .IPAM.Config 0).Subnet}}' back`); got != "true 172.18.0.0/16" {
		t.Errorf("internal network with a subnet of the default pools: %q", got)
	}
	for _, tc := range []struct{ filter, want string }{
		{"label=app=web", id[:12]},
		{"name=ron", id[:12]},
		{"type=custom --filter driver=bridge", back[:12] + "\n" + id[:12]},
		{"dangling=true", back[:12] + "\n" + id[:12]},
		{"type=builtin --filter name=bridge", must(t, "berthctl network ls -q --no-trunc --filter name=bridge")[:12]},
	} {
		if got := must(t, "berthctl network ls -q --filter "+tc.filter); got != tc.want {
			t.Errorf("network ls --filter %s: %q, want %q", tc.filter, got, tc.want)
		}
	}
	// Any user may list networks; creating one needs root or group berth.
	const nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups "
	if got := must(t, nobody+"berthctl network ls --format '{{.Name}}'"); got != "back\nbridge\nfront\nhost\nnone" {
		t.Errorf("network ls as nobody: %q", got)
	}
	if msg := fails(t, nobody+"berthctl network create mine"); !strings.Contains(msg, "permission denied") {
		t.Errorf("network create as nobody: %q", msg)
	}
	if msg := fails(t, "berthctl network ls --filter color=red"); !strings.Contains(msg, `unknown key "color"`) {
		t.Errorf("unknown filter: %q", msg)
	}

	// The network's object on the bus.
	if got := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1/network/front io.berth.Engine1.Network Subnet Gateway Internal DNSEnabled"); got != "s \"10.89.0.0/24\"\ns \"10.89.0.254\"\nb false\nb true" {
		t.Errorf("network object properties: %q", got)
	}
	if got := must(t, "busctl tree --list io.berth.Engine1 | grep /network/ | sort"); got != "/io/berth/Engine1/network/back\n/io/berth/Engine1/network/bridge\n/io/berth/Engine1/network/front\n/io/berth/Engine1/network/host\n/io/berth/Engine1/network/none" {
		t.Errorf("network objects: %q", got)
	}

	if got := must(t, "berthctl network rm front "+back[:12]); got != "front\n"+back[:12] {
		t.Errorf("network rm printed %q", got)
	}
	if got := must(t, "berthctl network ls --format '{{.Name}}'"); got != "bridge\nhost\nnone" {
		t.Errorf("after rm: %q", got)
	}
	fails(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1/network/front io.berth.Engine1.Network Name")
	if n := must(t, networkRecords); n != "1" {
		t.Errorf("%s network records after rm, want the default bridge's only", n)
	}

	// Signals: NetworkNew and NetworkRemoved with the object's path.
	must(t, "(timeout 10 busctl monitor --match \"type='signal',interface='io.berth.Engine1.Manager'\" >/tmp/netsig.out 2>&1 &); sleep 1")
	must(t, "berthctl network create sig && berthctl network rm sig")
	sig := eventually(t, 10*time.Second, "grep -c 'Member=Network' /tmp/netsig.out | grep -qx 2 && cat /tmp/netsig.out")
	for _, want := range []string{"Member=NetworkNew", "Member=NetworkRemoved", `OBJECT_PATH "/io/berth/Engine1/network/sig"`} {
		if !strings.Contains(sig, want) {
			t.Errorf("signals lack %s:\n%s", want, sig)
		}
	}

	// prune: docker's filters; never the predefined networks.
	must(t, "berthctl network create --label keep=1 n1 && berthctl network create n2 && berthctl network create n3")
	if got := must(t, "berthctl network prune -f --filter until=1h"); got != "" {
		t.Errorf("prune until=1h removed networks created now: %q", got)
	}
	if got := must(t, "berthctl network prune -f --filter label!=keep"); got != "Deleted Networks:\nn2\nn3" {
		t.Errorf("prune label!=keep: %q", got)
	}
	if got := must(t, "berthctl network prune -f"); got != "Deleted Networks:\nn1" {
		t.Errorf("prune: %q", got)
	}
	if got := must(t, "berthctl network ls --format '{{.Name}}'"); got != "bridge\nhost\nnone" {
		t.Errorf("after prune: %q", got)
	}
	if msg := fails(t, "berthctl network rm bridge"); !strings.Contains(msg, "predefined") || strings.Contains(msg, "run as root") {
		t.Errorf("rm bridge: %q", msg)
	}
}

// TestNetworkNameResolution: containers on a user-defined network reach
// each other by name, by --network-alias and by short id; on the default
// bridge names do not resolve (docker's rule).
func TestNetworkNameResolution(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl network create appnet")
	id := must(t, "berthctl run -d --name web --network appnet --network-alias www "+httpd)
	for _, host := range []string{"web", "www", id[:12]} {
		if got := eventually(t, 10*time.Second, "berthctl run --rm --network appnet busybox wget -qO- http://"+host+"/"); !strings.HasPrefix(got, "hello from") {
			t.Errorf("http://%s/ on appnet: %q", host, got)
		}
	}
	must(t, "berthctl run -d --name web2 "+httpd)
	ip := must(t, `berthctl inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' web2`)
	// Reachable on the default bridge by address, not by name.
	// (busybox 1.35's wget crashes with -T: timeout bounds it instead.)
	if got := eventually(t, 10*time.Second, "berthctl run --rm busybox timeout 5 wget -qO- http://"+ip+"/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("http://%s/ on the bridge: %q", ip, got)
	}
	if out, _, code := sh(t, "berthctl run --rm busybox timeout 5 wget -qO- http://web2/"); code == 0 || strings.Contains(out, "hello") {
		t.Errorf("by name on the default bridge: exit %d, %q; want a name that does not resolve", code, out)
	}
	must(t, "berthctl rm -f web web2 && berthctl network rm appnet")
	noLeftovers(t)
}

// TestNetworkConnect: a running container on the default bridge reaches
// no container of another network; connected to it, it gets an interface
// there, its resolv.conf names the network's name server, it reaches the
// others there by name and is reached by its alias; disconnected, it
// loses all of it. A network with
// a running container is not removed.
func TestNetworkConnect(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl network create --subnet 10.77.0.0/24 n1")
	must(t, "berthctl run -d --name srv --network n1 "+httpd)
	must(t, "berthctl run -d --name cli busybox sleep 1000")
	if got := must(t, "berthctl exec cli ls /sys/class/net"); got != "eth0\nlo" {
		t.Fatalf("cli on the bridge: %q", got)
	}
	// (busybox 1.35's wget crashes with -T: timeout bounds it instead.)
	const get = "berthctl exec cli timeout 5 wget -qO- http://srv/"
	const byAddress = "berthctl exec cli timeout 5 wget -qO- http://10.77.0.2/"
	fails(t, get)
	// Networks are isolated: no way round through the host's routes.
	if out, _, code := sh(t, byAddress); code == 0 || strings.Contains(out, "hello") {
		t.Errorf("srv by address from the bridge: exit %d, %q", code, out)
	}

	must(t, "berthctl network connect --alias api --ip 10.77.0.50 n1 cli")
	if got := must(t, "berthctl exec cli ls /sys/class/net"); got != "eth0\neth1\nlo" {
		t.Errorf("cli connected to n1: %q", got)
	}
	if got := must(t, "berthctl exec cli ip -4 addr show eth1"); !strings.Contains(got, "inet 10.77.0.50/24") {
		t.Errorf("cli's address on n1: %q", got)
	}
	if got := must(t, "berthctl exec cli cat /etc/resolv.conf"); !strings.Contains(got, "nameserver 10.77.0.1") {
		t.Errorf("cli's resolv.conf after the connect:\n%s", got)
	}
	if got := eventually(t, 10*time.Second, get); !strings.HasPrefix(got, "hello from") {
		t.Errorf("cli to srv by name: %q", got)
	}
	if got := eventually(t, 10*time.Second, "berthctl exec srv nslookup api | grep -A1 '^Name:' | tail -1"); !strings.Contains(got, "10.77.0.50") {
		t.Errorf("srv resolves cli's alias: %q", got)
	}
	if got := must(t, `berthctl network inspect -f '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}' n1`); !strings.Contains(got, "cli=10.77.0.50/24") || !strings.Contains(got, "srv=10.77.0.2/24") {
		t.Errorf("n1's containers: %q", got)
	}
	if got := must(t, `berthctl ps --format '{{.Names}} {{.Networks}}' --filter name=cli`); got != "cli bridge,n1" {
		t.Errorf("ps .Networks: %q", got)
	}
	if got := must(t, "berthctl __complete network disconnect '' 2>/dev/null | grep -v '^:' | sort"); got != "bridge\nhost\nn1\nnone" {
		t.Errorf("completion of disconnect's network: %q", got)
	}
	if got := must(t, "berthctl __complete network disconnect n1 s 2>/dev/null"); got != "srv\n:4" {
		t.Errorf("completion of disconnect's container: %q", got)
	}
	if got := must(t, `berthctl ps --format '{{.Names}}' --filter network=n1 | sort`); got != "cli\nsrv" {
		t.Errorf("ps --filter network=n1: %q", got)
	}
	if msg := fails(t, "berthctl network connect n1 cli"); !strings.Contains(msg, "already connected") {
		t.Errorf("second connect: %q", msg)
	}
	if msg := fails(t, "berthctl network rm n1"); !strings.Contains(msg, "active endpoints") {
		t.Errorf("rm of a network in use: %q", msg)
	}
	if got := must(t, "berthctl network ls -q --filter name=n1 | wc -l"); got != "1" {
		t.Errorf("n1 gone after a refused rm")
	}

	must(t, "berthctl network disconnect n1 cli")
	if got := must(t, "berthctl exec cli ls /sys/class/net"); got != "eth0\nlo" {
		t.Errorf("cli disconnected: %q", got)
	}
	if got := must(t, "berthctl exec cli cat /etc/resolv.conf"); strings.Contains(got, "10.77.0.1") {
		t.Errorf("cli's resolv.conf after the disconnect:\n%s", got)
	}
	if out, _, code := sh(t, get); code == 0 || strings.Contains(out, "hello") {
		t.Errorf("srv by name after the disconnect: exit %d, %q", code, out)
	}
	if out, _, code := sh(t, byAddress); code == 0 || strings.Contains(out, "hello") {
		t.Errorf("srv by address after the disconnect: exit %d, %q", code, out)
	}
	if msg := fails(t, "berthctl network disconnect n1 cli"); !strings.Contains(msg, "not connected") {
		t.Errorf("second disconnect: %q", msg)
	}
	must(t, "berthctl rm -f srv cli && berthctl network rm n1")
	noLeftovers(t)
}

// TestPortVerbAndPsPorts: berthctl port and ps's PORTS column in docker's
// format.
func TestPortVerbAndPsPorts(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run -d --name web -p 8080:80 -p 127.0.0.1::81 --expose 90 "+httpd)
	rnd := must(t, `berthctl inspect -f '{{(index (index .NetworkSettings.Ports "81/tcp") 0).HostPort}}' web`)
	if got := must(t, "berthctl port web"); got != "80/tcp -> 0.0.0.0:8080\n81/tcp -> 127.0.0.1:"+rnd {
		t.Errorf("port web: %q", got)
	}
	for _, p := range []string{"80", "80/tcp"} {
		if got := must(t, "berthctl port web "+p); got != "0.0.0.0:8080" {
			t.Errorf("port web %s: %q", p, got)
		}
	}
	if msg := fails(t, "berthctl port web 443"); !strings.Contains(msg, "no public port '443/tcp' published for web") {
		t.Errorf("port web 443: %q", msg)
	}
	if msg := fails(t, "berthctl port web 80/sctp"); !strings.Contains(msg, "80/sctp") {
		t.Errorf("port web 80/sctp: %q", msg)
	}
	want := "90/tcp, 0.0.0.0:8080->80/tcp, 127.0.0.1:" + rnd + "->81/tcp"
	if got := must(t, "berthctl ps --format '{{.Ports}}'"); got != want {
		t.Errorf("ps .Ports: %q, want %q", got, want)
	}
	must(t, "berthctl run -d --name plain busybox sleep 1000")
	for _, tc := range []struct{ filter, want string }{
		{"publish=80", "web"}, {"publish=81/tcp", "web"}, {"publish=90", ""}, {"expose=90", "web"},
		{"expose=1-79", ""}, {"publish=8080", ""}, {"network=bridge", "plain\nweb"},
	} {
		if got := must(t, "berthctl ps --format '{{.Names}}' --filter "+tc.filter+" | sort"); got != tc.want {
			t.Errorf("ps --filter %s: %q, want %q", tc.filter, got, tc.want)
		}
	}
	must(t, "berthctl rm -f plain")
	// host lists the containers running in that mode, as docker's.
	must(t, "berthctl run -d --name onhost --network host busybox sleep 1000")
	if got := must(t, "berthctl network inspect -f '{{range .Containers}}{{.Name}}{{end}}' host"); got != "onhost" {
		t.Errorf("host network's containers: %q", got)
	}
	must(t, "berthctl rm -f onhost")
	if got := must(t, "berthctl ps | head -1"); !strings.Contains(got, "PORTS") {
		t.Errorf("ps header lacks PORTS: %q", got)
	}
	if got := must(t, "berthctl ps | tail -1"); !strings.Contains(got, want) {
		t.Errorf("ps row lacks the ports: %q", got)
	}
	must(t, "berthctl stop -t 1 web")
	if got := must(t, "berthctl port web"); got != "" {
		t.Errorf("port of a stopped container: %q", got)
	}
	must(t, "berthctl rm -f web")
	noLeftovers(t)
}

// TestNetworkBadInput: each refusal is clear and leaves nothing: no
// network record, namespace, veth, attachment or forwarding rule, and no
// running container.
func TestNetworkBadInput(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl network create --subnet 10.90.0.0/16 taken")
	nothingLeft := func(t *testing.T, records string) {
		t.Helper()
		if n := must(t, networkRecords); n != records {
			t.Errorf("%s network records, want %s", n, records)
		}
		if got := must(t, "berthctl ps -q"); got != "" {
			t.Errorf("a container runs: %s", got)
		}
		eventually(t, 10*time.Second, noNetworkLeftovers)
	}
	for _, tc := range []struct{ name, cmd, want string }{
		{"unknown network (run)", "berthctl run -d --name bad --network nosuch busybox true", "network nosuch not found"},
		{"unknown network (second)", "berthctl run -d --name bad --network taken --network nosuch busybox true", "network nosuch not found"},
		{"unknown network (inspect)", "berthctl network inspect nosuch", "network nosuch not found"},
		{"unknown network (rm)", "berthctl network rm nosuch", "network nosuch not found"},
		{"unknown network (connect)", "berthctl network connect nosuch bad", "network nosuch not found"},
		{"name clash", "berthctl network create taken", "network with name taken already exists"},
		{"predefined name", "berthctl network create bridge", "predefined"},
		{"subnet not CIDR", "berthctl network create --subnet 10.91.0.0 n", `subnet "10.91.0.0": not a CIDR subnet`},
		{"subnet host bits", "berthctl network create --subnet 10.91.0.5/24 n", "did you mean 10.91.0.0/24?"},
		{"gateway outside", "berthctl network create --subnet 10.91.0.0/24 --gateway 10.92.0.1 n", "not a host address of subnet 10.91.0.0/24"},
		{"overlapping subnet", "berthctl network create --subnet 10.90.1.0/24 n", "overlaps network taken (10.90.0.0/16)"},
		{"driver", "berthctl network create -d overlay n", `network driver "overlay"`},
		{"bad label", "berthctl network create --label =x n", "--label"},
		{"malformed -p", "berthctl run -d --name bad -p 8080:80:tcp busybox true", "8080:80:tcp"},
		{"malformed -p port", "berthctl run -d --name bad -p 99999:80 busybox true", "99999"},
		{"alias on the bridge", "berthctl run -d --name bad --network-alias x busybox true", "network-scoped aliases (x) are supported only for containers in user-defined networks"},
		{"ip outside the subnet", "berthctl run -d --name bad --network taken --ip 10.1.0.5 busybox true", "ip 10.1.0.5: not a free host address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fails(t, tc.cmd)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not say %q", msg, tc.want)
			}
			if got := must(t, "berthctl ps -a -q"); got != "" {
				t.Errorf("left a container: %s", got)
			}
			nothingLeft(t, "2")
		})
	}
	// The error's name on the bus.
	if out, errOut, _ := sh(t, `gdbus call --system --dest io.berth.Engine1 --object-path /io/berth/Engine1 --method io.berth.Engine1.Manager.InspectNetwork nosuch`); !strings.Contains(errOut, "io.berth.Engine1.Error.NoSuchNetwork") {
		t.Errorf("InspectNetwork nosuch: %q %q", out, errOut)
	}

	// rm of a network with a running container.
	must(t, "berthctl run -d --name user --network taken busybox sleep 1000")
	if msg := fails(t, "berthctl network rm taken"); !strings.Contains(msg, "network taken has active endpoints (containers user)") {
		t.Errorf("rm of a network in use: %q", msg)
	}
	if n := must(t, networkRecords); n != "2" {
		t.Errorf("%s network records after a refused rm", n)
	}
	must(t, "berthctl rm -f user")

	// A host port in use by a process of the host: refused before the
	// container starts, nothing of its network left.
	must(t, "systemd-run --unit holder8090 /bin/busybox httpd -f -p 8090 && for i in $(seq 50); do ss -ltn | grep -q ':8090 ' && break; sleep 0.1; done")
	t.Cleanup(func() { sh(t, "systemctl stop holder8090") })
	msg := fails(t, "berthctl run -d --name busy -p 8090:80 busybox httpd -f -p 80")
	if !strings.Contains(msg, "0.0.0.0:8090: the host port is already in use") {
		t.Errorf("host port in use: %q", msg)
	}
	if st := must(t, "berthctl inspect -f '{{.State.Status}}' busy 2>/dev/null || echo gone"); st == "running" {
		t.Errorf("busy runs")
	}
	nothingLeft(t, "2")
	must(t, "berthctl rm -f busy 2>/dev/null; true")
	// A port another container publishes.
	must(t, "berthctl run -d --name first -p 8091:80 "+httpd)
	if msg := fails(t, "berthctl run -d --name second -p 8091:80 busybox true"); !strings.Contains(msg, "already published by another container") {
		t.Errorf("port of another container: %q", msg)
	}
	if st := must(t, "berthctl inspect -f '{{.State.Status}}' second 2>/dev/null || echo gone"); st == "running" {
		t.Errorf("second runs")
	}
	must(t, "berthctl rm -f first second 2>/dev/null; berthctl network rm taken")
	noLeftovers(t)
	if n := must(t, networkRecords); n != "1" {
		t.Errorf("%s network records at the end", n)
	}
}
