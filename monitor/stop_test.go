package monitor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/monitor/contract"
)

// runc's init helper is told from the payload by its name, which an exec
// replaces.
func TestRuntimeInit(t *testing.T) {
	for comm, want := range map[string]bool{
		"runc:[2:INIT]\n":  true,
		"runc:[2:INIT]":    true,
		"sh\n":             false,
		"runc:[1:CHILD]\n": false,
		"runc\n":           false,
		"":                 false,
	} {
		if got := runtimeInit(comm); got != want {
			t.Errorf("runtimeInit(%q) = %v, want %v", comm, got, want)
		}
	}
}

// helper starts sh under the name runc gives its init helper; script runs
// in it (an exec in script stands for the helper's exec of the payload).
func helper(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	link := filepath.Join(t.TempDir(), "runc:[2:INIT]")
	if err := os.Symlink("/bin/sh", link); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(link, "-c", script)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

func helperMon(t *testing.T, pid int) *mon {
	cfg := contract.Config{ID: "c", RuntimePath: "/bin/true", RunDir: t.TempDir()}
	return &mon{cfg: cfg, rt: newRuntime(&cfg), main: &session{pid: pid}, exited: make(chan struct{}), stopRequested: make(chan struct{})}
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// A stop waits for the payload's exec before it signals it.
func TestAwaitExecWaitsForThePayload(t *testing.T) {
	c := helper(t, "sleep 0.3; exec sleep 100")
	m := helperMon(t, c.Process.Pid)
	began := time.Now()
	if got := m.awaitExec(context.Background(), time.After(10*time.Second)); got != payloadExeced {
		t.Fatalf("awaitExec = %d, want payloadExeced", got)
	}
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Fatalf("awaitExec returned after %v, before the exec", took)
	}
	if n := comm(c.Process.Pid); n != "sleep" {
		t.Fatalf("awaitExec returned while the process is %q", n)
	}
}

// A helper that never execs holds a stop up only until its timeout, or
// until the process exits.
func TestAwaitExecEnds(t *testing.T) {
	c := helper(t, "sleep 100")
	m := helperMon(t, c.Process.Pid)
	if got := m.awaitExec(context.Background(), time.After(200*time.Millisecond)); got != stopTimedOut {
		t.Fatalf("awaitExec = %d, want stopTimedOut", got)
	}
	close(m.exited)
	if got := m.awaitExec(context.Background(), nil); got != payloadExited {
		t.Fatalf("awaitExec = %d, want payloadExited", got)
	}
}
