//go:build e2e

package tests

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// apiCall sends one request to berth's Engine API with curl and returns
// its status code and body: "METHOD PATH" and a JSON body ("" for none).
func apiCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	data := ""
	if body != "" {
		data = "-H 'Content-Type: application/json' --data-raw '" + body + "' "
	}
	out := must(t, "curl -s -w '\\n%{http_code}' -X "+method+" "+data+"--unix-socket /run/berth/berth.sock 'http://d/v1.51"+path+"'")
	i := strings.LastIndex(out, "\n")
	return atoi(t, out[i+1:]), out[:max(i, 0)]
}

// wantStatus fails the test unless the request answers code with a body
// that contains msg.
func wantStatus(t *testing.T, method, path, body string, code int, msg string) {
	t.Helper()
	got, out := apiCall(t, method, path, body)
	if got != code || !strings.Contains(out, msg) {
		t.Errorf("%s %s %s: %d %s, want %d with %q", method, path, body, got, out, code, msg)
	}
}

// httpGet is a shell command that asks http://ADDR/ with busybox's nc and
// prints the response (busybox-static's wget crashes in a container
// without glibc's NSS modules, even for an address).
func httpGet(addr string) string {
	return `printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 ` + addr + ` 80`
}

// lookupGet is a shell loop that resolves name with the network's name
// server (busybox's own nslookup) and asks http://ADDRESS/.
func lookupGet(name string) string {
	return `for i in $(seq 50); do a=$(nslookup ` + name + ` 2>/dev/null | awk "/^Address/ {a=\$NF} END {print a}"); ` +
		`case "$a" in ""|*:*) ;; *) ` + httpGet("$a") + ` && exit;; esac; sleep 0.2; done; exit 1`
}

// TestDockerCLINetworks drives networks with the docker CLI: the
// predefined bridge (a real network now), host and none; create with a
// subnet, gateway, label and --internal; ls filters; inspect with the
// attached containers; containers on a user network reaching each other
// by name and by --network-alias, with an address asked for; connect and
// disconnect of a running container; rm and prune. Bad input answers
// docker's status codes and leaves nothing behind.
func TestDockerCLINetworks(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")

	if ls := docker(t, "network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'"); ls != "bridge bridge local\nhost host local\nnone null local" {
		t.Errorf("network ls: %q", ls)
	}
	if got := docker(t, `network inspect -f '{{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{index .Options "com.docker.network.bridge.name"}}' bridge`); got != "bridge 172.17.0.0/16 172.17.0.1 berth0" {
		t.Errorf("network inspect bridge: %q", got)
	}
	id := docker(t, "network create --subnet 10.89.0.0/24 --gateway 10.89.0.254 --label app=web --internal mynet")
	if len(id) != 64 {
		t.Fatalf("network create printed %q, want the id", id)
	}
	if got := docker(t, `network inspect -f '{{.Id}} {{.Name}} {{.Driver}} {{.Internal}} {{.EnableIPv6}} {{.Scope}} {{index .Labels "app"}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{len .Containers}}' mynet`); got != id+" mynet bridge true false local web 10.89.0.0/24 10.89.0.254 0" {
		t.Errorf("network inspect mynet: %q", got)
	}
	docker(t, "network create appnet")
	if got := docker(t, "network inspect -f '{{.Name}}' "+id[:12]); got != "mynet" {
		t.Errorf("network inspect by id prefix: %q", got)
	}
	for filter, want := range map[string]string{
		"type=custom":   "appnet\nmynet",
		"type=builtin":  "bridge\nhost\nnone",
		"label=app=web": "mynet",
		"driver=null":   "none",
		"name=net":      "appnet\nmynet",
		"dangling=true": "appnet\nmynet",
		"id=" + id[:8]:  "mynet",
	} {
		if got := docker(t, "network ls --format '{{.Name}}' --filter "+filter); got != want {
			t.Errorf("network ls --filter %s: %q, want %q", filter, got, want)
		}
	}

	// Containers on a user network: by name and by alias; an address asked
	// for; the network lists them.
	docker(t, "run -d --name web --network appnet --network-alias websrv "+httpd)
	for _, name := range []string{"web", "websrv"} {
		if got := docker(t, "run --rm --network appnet busybox sh -c '"+lookupGet(name)+"'"); !strings.Contains(got, "hello from") {
			t.Errorf("http://%s/ on appnet: %q", name, got)
		}
	}
	docker(t, "run -d --name fixed --network mynet --ip 10.89.0.50 busybox sleep 1000")
	if got := docker(t, "inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}} {{.NetworkSettings.Networks.mynet.Gateway}}' fixed"); got != "10.89.0.50 10.89.0.254" {
		t.Errorf("address asked for: %q", got)
	}
	if got := docker(t, "network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}' mynet"); got != "fixed 10.89.0.50/24" {
		t.Errorf("mynet's containers: %q", got)
	}
	if got := docker(t, "ps --filter network=mynet --format '{{.Names}}'; docker ps --filter network="+id[:12]+" --format '{{.Names}}'"); got != "fixed\nfixed" {
		t.Errorf("ps --filter network: %q", got)
	}
	if got := docker(t, "network ls --format '{{.Name}}' --filter dangling=true"); got != "" {
		t.Errorf("dangling networks while both are in use: %q", got)
	}

	// connect and disconnect of a running container on the default bridge.
	docker(t, "run -d --name other busybox sleep 1000")
	docker(t, "network connect --alias oth appnet other")
	if got := docker(t, "exec other ls /sys/class/net"); got != "eth0\neth1\nlo" {
		t.Errorf("interfaces after connect: %q", got)
	}
	webIP := docker(t, "inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' web")
	if got := docker(t, "exec other sh -c '"+httpGet(webIP)+"'"); !strings.Contains(got, "hello from") {
		t.Errorf("other reaches web on appnet after connect: %q", got)
	}
	// Its name server is appnet's now: it resolves web by name.
	if got := docker(t, "exec other sh -c '"+lookupGet("web")+"'"); !strings.Contains(got, "hello from") {
		t.Errorf("other resolving web after connect: %q", got)
	}
	if got := docker(t, "run --rm --network appnet busybox sh -c 'for i in $(seq 50); do nslookup oth >/dev/null 2>&1 && echo ok && exit; sleep 0.2; done; exit 1'"); got != "ok" {
		t.Errorf("the connected container's alias does not resolve: %q", got)
	}
	if got := docker(t, "network inspect -f '{{range .Containers}}{{.Name}} {{end}}' appnet"); !strings.Contains(got, "other") || !strings.Contains(got, "web") {
		t.Errorf("appnet's containers after connect: %q", got)
	}
	docker(t, "network disconnect appnet other")
	if got := docker(t, "exec other ls /sys/class/net"); got != "eth0\nlo" {
		t.Errorf("interfaces after disconnect: %q", got)
	}
	if got := docker(t, "inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' other"); got != "bridge" {
		t.Errorf("networks after disconnect: %q", got)
	}

	// host: the host's interfaces; host's inspect lists the container.
	docker(t, "run -d --name onhost --network host busybox sleep 1000")
	if got, want := docker(t, "exec onhost ls /sys/class/net"), must(t, "ls /sys/class/net"); got != want {
		t.Errorf("--network host: interfaces %q, the host's %q", got, want)
	}
	if got := docker(t, "network inspect -f '{{range .Containers}}{{.Name}} {{end}}' host"); got != "onhost" {
		t.Errorf("host network's containers: %q", got)
	}
	if got := docker(t, "inspect -f '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' onhost"); got != "host host" {
		t.Errorf("inspect of a container on host: %q", got)
	}
	docker(t, "rm -f onhost")

	// --network container:NAME shares web's namespace.
	if got := docker(t, "run --rm --network container:web busybox sh -c '"+httpGet("127.0.0.1")+"'"); !strings.Contains(got, "hello from") {
		t.Errorf("--network container:web reaching web's 127.0.0.1:80: %q", got)
	}
	// connect of a stopped container, with an address: it joins at its
	// next start.
	docker(t, "create --name later busybox sleep 1000")
	docker(t, "network connect --ip 10.89.0.60 mynet later")
	docker(t, "start later")
	if got := docker(t, "inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}}' later"); got != "10.89.0.60 172.17.0.1" {
		t.Errorf("a stopped container connected with --ip, then started: %q", got)
	}
	docker(t, "rm -f later")

	// A network whose containers have just ended is no longer in use:
	// their teardown is done before a rm or prune, as with docker.
	for i := 0; i < 3; i++ {
		docker(t, "network create brief && docker run --rm --network brief busybox true && docker network rm brief")
		docker(t, "network create brief && docker run --name ended --network brief busybox true && docker network prune -f && docker rm ended")
		if got := docker(t, "network ls -q --filter name=brief"); got != "" {
			t.Fatalf("network brief left: %q", got)
		}
	}

	// --ip-range: addresses are given from the range.
	docker(t, "network create --subnet 10.91.0.0/24 --ip-range 10.91.0.128/25 rnet")
	if got := docker(t, "network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}}{{end}}' rnet"); got != "10.91.0.0/24 10.91.0.128/25" {
		t.Errorf("inspect of a network with an ip-range: %q", got)
	}
	if got := docker(t, "run --rm --network rnet busybox ip -4 -o addr show eth0"); !strings.Contains(got, "inet 10.91.0.128/24 ") {
		t.Errorf("first address of the ip-range: %q", got)
	}
	docker(t, "network rm rnet")

	// Bad input: docker's status codes and words, nothing left.
	_, errOut, code := sh(t, dockerEnv+"docker run --rm --network nosuch busybox true")
	if code != 125 || !strings.Contains(errOut, "network nosuch not found") || strings.Contains(errOut, "Unable to find image") {
		t.Errorf("run --network nosuch: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm --network-alias x busybox true")
	if code != 125 || !strings.Contains(errOut, "user-defined networks") {
		t.Errorf("run --network-alias on the default bridge: exit %d, %q", code, errOut)
	}
	if errOut := fails(t, dockerEnv+"docker network create mynet"); !strings.Contains(errOut, "network with name mynet already exists") {
		t.Errorf("name clash: %q", errOut)
	}
	wantStatus(t, "POST", "/networks/create", `{"Name":"mynet","CheckDuplicate":true}`, 409, "already exists")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bridge"}`, 409, "network with name bridge already exists")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.90.0.5/24"}]}}`, 400, "not a network address")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.90.0.0/40"}]}}`, 400, "not a CIDR subnet")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.89.0.0/16"}]}}`, 400, "overlaps network mynet")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.90.0.0/24","IPRange":"10.91.0.0/25"}]}}`, 400, "not inside subnet")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","Driver":"overlay"}`, 400, "bridge driver only")
	wantStatus(t, "POST", "/networks/create", `{"Name":"bad","EnableIPv6":true}`, 400, "not supported by berth: EnableIPv6")
	if errOut := fails(t, dockerEnv+"docker network create --subnet 10.89.0.0/16 over"); !strings.Contains(errOut, "overlaps network mynet") {
		t.Errorf("overlapping subnet: %q", errOut)
	}
	wantStatus(t, "GET", "/networks/nosuch", "", 404, "network nosuch not found")
	wantStatus(t, "DELETE", "/networks/nosuch", "", 404, "network nosuch not found")
	wantStatus(t, "DELETE", "/networks/bridge", "", 403, "bridge is a pre-defined network and cannot be removed")
	wantStatus(t, "DELETE", "/networks/appnet", "", 409, "has active endpoints")
	if errOut := fails(t, dockerEnv+"docker network rm appnet"); !strings.Contains(errOut, "has active endpoints") {
		t.Errorf("rm of a network in use: %q", errOut)
	}
	wantStatus(t, "POST", "/networks/nosuch/connect", `{"Container":"other"}`, 404, "network nosuch not found")
	wantStatus(t, "POST", "/networks/appnet/connect", `{"Container":"nosuch"}`, 404, "No such container: nosuch")
	wantStatus(t, "POST", "/networks/appnet/connect", `{"Container":"web"}`, 409, "already connected")
	wantStatus(t, "POST", "/networks/appnet/connect", `{"Container":"other","EndpointConfig":{"Links":["web:w"]}}`, 400, "EndpointConfig.Links")
	wantStatus(t, "POST", "/networks/appnet/disconnect", `{"Container":"other"}`, 404, "not connected")
	if got := docker(t, "network ls -q | wc -l"); got != "5" {
		t.Errorf("networks after the refusals: %s", got)
	}
	if got := docker(t, "ps -aq | wc -l"); got != "3" {
		t.Errorf("containers after the refusals: %s", got)
	}

	// rm and prune.
	docker(t, "rm -f web fixed other")
	if got := docker(t, "network prune -f --filter label=app=web"); !strings.Contains(got, "mynet") || strings.Contains(got, "appnet") {
		t.Errorf("prune --filter label=app=web: %q", got)
	}
	docker(t, "network rm appnet")
	if got := docker(t, "network ls --format '{{.Name}}'"); got != "bridge\nhost\nnone" {
		t.Errorf("networks at the end: %q", got)
	}
	docker(t, "network create gone")
	if got := docker(t, "network prune -f"); !strings.Contains(got, "gone") {
		t.Errorf("prune: %q", got)
	}
	noLeftovers(t)
}

// TestDockerCLIPorts: docker run -p HOST:CTR answers on the host; -p CTR
// gets a random port that docker port and ps report and that answers; -P
// publishes an image's EXPOSEd port; ps filters publish and expose; a
// host port in use and malformed bindings are refused.
func TestDockerCLIPorts(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")

	docker(t, "run -d --name web -p 8080:80 "+httpd)
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8080/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("-p 8080:80: %q", got)
	}
	if got := docker(t, "port web"); got != "80/tcp -> 0.0.0.0:8080" {
		t.Errorf("docker port web: %q", got)
	}

	docker(t, "run -d --name rnd -p 80 "+httpd)
	hostPort := docker(t, "port rnd 80")
	m := regexp.MustCompile(`^0\.0\.0\.0:([0-9]+)$`).FindStringSubmatch(hostPort)
	if m == nil || m[1] == "80" || m[1] == "8080" {
		t.Fatalf("docker port rnd 80: %q", hostPort)
	}
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+m[1]+"/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("-p 80 on host port %s: %q", m[1], got)
	}
	if got := docker(t, "ps --filter name=rnd --format '{{.Ports}}'"); got != "0.0.0.0:"+m[1]+"->80/tcp" {
		t.Errorf("ps ports: %q", got)
	}

	// Host port 0 on 127.0.0.1: a random port on that address only.
	docker(t, "run -d --name zero -p 127.0.0.1:0:80 "+httpd)
	zm := regexp.MustCompile(`^127\.0\.0\.1:([0-9]+)$`).FindStringSubmatch(docker(t, "port zero 80/tcp"))
	if zm == nil || zm[1] == "0" {
		t.Fatalf("docker port zero: %q", zm)
	}
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+zm[1]+"/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("-p 127.0.0.1:0:80 on host port %s: %q", zm[1], got)
	}
	docker(t, "rm -f zero")

	// -P: the EXPOSEd port of an image (committed from web with EXPOSE 80).
	docker(t, `commit -c 'EXPOSE 80' -c 'CMD ["sh","-c","mkdir -p /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www"]' web exposed:v1`)
	docker(t, "run -d --name pall -P --expose 81 exposed:v1")
	ports := docker(t, "port pall")
	pm := regexp.MustCompile(`(?m)^80/tcp -> 0\.0\.0\.0:([0-9]+)$`).FindStringSubmatch(ports)
	if pm == nil || !strings.Contains(ports, "81/tcp -> 0.0.0.0:") {
		t.Fatalf("docker port of a -P container: %q", ports)
	}
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:"+pm[1]+"/"); got != "exposed" {
		t.Errorf("-P port %s: %q", pm[1], got)
	}
	if got := docker(t, "inspect -f '{{.HostConfig.PublishAllPorts}} {{json .Config.ExposedPorts}}' pall"); got != `true {"80/tcp":{},"81/tcp":{}}` {
		t.Errorf("inspect of a -P container: %q", got)
	}
	if got := docker(t, "ps --filter publish=80 --format '{{.Names}}' | sort | tr '\\n' ' '"); got != "pall rnd web" {
		t.Errorf("ps --filter publish=80: %q", got)
	}
	if got := docker(t, "ps --filter expose=81/tcp --format '{{.Names}}'; docker ps --filter publish=81-90 --format '{{.Names}}'; docker ps --filter publish=80/udp --format '{{.Names}}'"); got != "pall\npall" {
		t.Errorf("ps --filter expose=81/tcp, publish=81-90, publish=80/udp: %q", got)
	}

	// A host port in use: by another container, by a process of the host.
	_, errOut, code := sh(t, dockerEnv+"docker run -d --name clash -p 8080:80 busybox sleep 1000")
	if code != 125 || !strings.Contains(errOut, "already published by another container") {
		t.Errorf("host port of another container: exit %d, %q", code, errOut)
	}
	pid := must(t, "busybox httpd -f -p 8181 -h /tmp >/dev/null 2>&1 & echo $!")
	eventually(t, 10*time.Second, "ss -ltn | grep -q ':8181 '")
	_, errOut, code = sh(t, dockerEnv+"docker run -d --name taken -p 8181:80 busybox sleep 1000")
	must(t, "kill "+pid)
	if code != 125 || !strings.Contains(errOut, "already in use") {
		t.Errorf("host port of a host process: exit %d, %q", code, errOut)
	}
	// docker leaves a container whose start failed (not running);
	// nothing of its network is left.
	if got := docker(t, "ps -a --filter status=created --format '{{.Names}}' | sort | tr '\\n' ' '"); got != "clash taken" {
		t.Errorf("containers left created: %q", got)
	}
	docker(t, "rm clash taken")

	// Malformed bindings through the API: 400, no container.
	for hc, msg := range map[string]string{
		`{"PortBindings":{"80/tcp":[{"HostPort":"abc"}]}}`:                       `host port \"abc\"`,
		`{"PortBindings":{"80/tcp":[{"HostPort":"70000"}]}}`:                     `host port \"70000\"`,
		`{"PortBindings":{"80/sctp":[{"HostPort":"8090"}]}}`:                     `protocol \"sctp\"`,
		`{"PortBindings":{"80/tcp":[{"HostIp":"not-an-ip","HostPort":"8090"}]}}`: "not-an-ip",
		`{"PortBindings":{"80/tcp":[{"HostPort":"8090"}]},"NetworkMode":"host"}`: "port publishing and the host network mode",
	} {
		wantStatus(t, "POST", "/containers/create", `{"Image":"busybox","HostConfig":`+hc+`}`, 400, msg)
	}
	if got := docker(t, "ps -aq | wc -l"); got != "3" {
		t.Errorf("containers after the refusals: %s", got)
	}
	docker(t, "rm -f web rnd pall")
	noLeftovers(t)
}
