//go:build e2e

package tests

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
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
