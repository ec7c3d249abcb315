//go:build e2e

package tests

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestTestcontainers runs testcontainers-go against berth (DOCKER_HOST at
// berth's socket, Ryuk disabled): GenericContainer starts a busybox
// container and waits for its log line, then the test reads its logs,
// runs a command in it and terminates it.
func TestTestcontainers(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	t.Setenv("DOCKER_HOST", berthHost())
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// Neither the host's ~/.testcontainers.properties nor its docker
	// configuration.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", home)
	ctx := t.Context()
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:      "busybox:latest",
			Cmd:        []string{"sh", "-c", "echo booting; sleep 1; echo ready to serve; exec sleep 1000"},
			WaitingFor: wait.ForLog("ready to serve").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	if err != nil {
		t.Fatalf("GenericContainer: %v", err)
	}
	id := ctr.GetContainerID()
	if st := must(t, "berthctl inspect --format '{{.State.Status}}' "+id); st != "running" {
		t.Errorf("berth sees the container %s", st)
	}
	if running, err := ctr.State(ctx); err != nil || !running.Running {
		t.Errorf("State: %+v %v", running, err)
	}

	rc, err := ctr.Logs(ctx)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "booting\nready to serve\n" {
		t.Errorf("Logs: %q %v", b, err)
	}

	code, r, err := ctr.Exec(ctx, []string{"sh", "-c", "echo in-$((6*7)); exit 3"}, tcexec.Multiplexed())
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	out, _ := io.ReadAll(r)
	if code != 3 || strings.TrimSpace(string(out)) != "in-42" {
		t.Errorf("Exec: code %d output %q", code, out)
	}

	if err := ctr.Terminate(ctx); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("Terminate left %s containers", n)
	}
}

// dialSandbox connects to addr (an IP and port) from the sandbox's network
// namespace: the socket is made on a thread that entered it, and is used
// from anywhere after. The thread is never given back to the Go runtime
// (it ends with its goroutine).
func dialSandbox(addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/proc/" + sandboxPID + "/ns/net")
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, err}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// TestTestcontainersMappedPort: testcontainers-go publishes a container's
// exposed port on a random host port (no host port given), reads it with
// MappedPort and talks HTTP to it at the host testcontainers names.
func TestTestcontainersMappedPort(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	t.Setenv("DOCKER_HOST", berthHost())
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", home)
	ctx := t.Context()
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        "busybox:latest",
			ExposedPorts: []string{"80/tcp"},
			Cmd:          []string{"sh", "-c", "mkdir -p /www && echo mapped > /www/index.html && echo serving && exec httpd -f -p 80 -h /www"},
			WaitingFor:   wait.ForLog("serving").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	if err != nil {
		t.Fatalf("GenericContainer: %v", err)
	}
	t.Cleanup(func() { ctr.Terminate(t.Context()) })
	port, err := ctr.MappedPort(ctx, "80/tcp")
	if err != nil {
		t.Fatalf("MappedPort: %v", err)
	}
	if port.Num() == 0 || port.Num() == 80 {
		t.Fatalf("MappedPort: %v, want a random host port", port)
	}
	host, err := ctr.Host(ctx)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port.Port())
	if got := must(t, `berthctl inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' `+ctr.GetContainerID()); got != port.Port() {
		t.Errorf("berthctl inspect: host port %q, testcontainers' mapped port %s", got, port.Port())
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialSandbox(addr)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			if err = req.Write(c); err == nil {
				var resp *http.Response
				if resp, err = http.ReadResponse(bufio.NewReader(c), req); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = string(b)
				}
			}
			c.Close()
		}
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("GET http://%s/ (testcontainers' host and mapped port): %v", addr, err)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body != "mapped\n" {
		t.Errorf("GET http://%s/: %q", addr, body)
	}
	if err := ctr.Terminate(ctx); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	noLeftovers(t)
}

// TestTestcontainersNetwork: testcontainers-go creates a network, runs a
// server on it with an alias and a client on it; the client is on that
// network only (as with dockerd: endpoints without a network mode take
// the place of the default network) and reaches the server by its alias;
// the network goes with Remove.
func TestTestcontainersNetwork(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	t.Setenv("DOCKER_HOST", berthHost())
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", home)
	ctx := t.Context()
	nw, err := tcnetwork.New(ctx)
	if err != nil {
		t.Fatalf("network.New: %v", err)
	}
	run := func(cmd string, aliases ...string) testcontainers.Container {
		req := testcontainers.GenericContainerRequest{
			ContainerRequest: testcontainers.ContainerRequest{
				Image:      "busybox:latest",
				Cmd:        []string{"sh", "-c", "echo up; " + cmd},
				WaitingFor: wait.ForLog("up").WithStartupTimeout(30 * time.Second),
			},
			Started: true,
		}
		if err := tcnetwork.WithNetwork(aliases, nw).Customize(&req); err != nil {
			t.Fatal(err)
		}
		ctr, err := testcontainers.GenericContainer(ctx, req)
		if err != nil {
			t.Fatalf("GenericContainer: %v", err)
		}
		t.Cleanup(func() { ctr.Terminate(t.Context()) })
		return ctr
	}
	server := run("mkdir -p /www && echo by alias > /www/index.html && exec httpd -f -p 80 -h /www", "websrv")
	client := run("exec sleep 1000")
	if nets, err := server.Networks(ctx); err != nil || len(nets) != 1 || nets[0] != nw.Name {
		t.Errorf("server's networks: %q %v, want [%s]", nets, err, nw.Name)
	}
	if aliases, err := server.NetworkAliases(ctx); err != nil || !slices.Contains(aliases[nw.Name], "websrv") {
		t.Errorf("server's aliases: %v %v", aliases, err)
	}
	exec := func(cmd string) string {
		code, r, err := client.Exec(ctx, []string{"sh", "-c", cmd}, tcexec.Multiplexed())
		if err != nil {
			t.Fatalf("Exec %s: %v", cmd, err)
		}
		out, _ := io.ReadAll(r)
		if code != 0 {
			t.Errorf("Exec %s: exit %d: %s", cmd, code, out)
		}
		return string(out)
	}
	if got := exec("ls /sys/class/net"); got != "eth0\nlo\n" {
		t.Errorf("client's interfaces: %q, want eth0 (the network) and lo", got)
	}
	if got := exec(lookupGet("websrv")); !strings.Contains(got, "by alias") {
		t.Errorf("client reaching the server by its alias: %q", got)
	}
	for _, c := range []testcontainers.Container{client, server} {
		if err := c.Terminate(ctx); err != nil {
			t.Fatalf("Terminate: %v", err)
		}
	}
	if err := nw.Remove(ctx); err != nil {
		t.Fatalf("network Remove: %v", err)
	}
	if got := docker(t, "network ls -q | wc -l"); got != "3" {
		t.Errorf("networks after Remove: %s", got)
	}
	noLeftovers(t)
}
