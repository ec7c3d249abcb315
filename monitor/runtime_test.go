package monitor

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// What a runtime writes into the payload's pipes while it runs is read at
// once, however much it is, so the writer never blocks, and nothing is
// lost when the drain stops.
func TestDrainKeepsEverythingAndTheOpenPipe(t *testing.T) {
	for _, size := range []int{0, 10, 70000, 1 << 20} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		d := startDrain(r)
		msg := bytes.Repeat([]byte("a"), size)
		done := make(chan error, 1)
		go func() { _, err := w.Write(msg); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d bytes: the writer blocked", size)
		}
		got := d.stop(false)
		// The pipe stays usable for the pump, which reads what the drain
		// left there.
		go func() {
			w.Write([]byte("later"))
			w.Close()
		}()
		rest, err := io.ReadAll(r)
		if err != nil || !bytes.HasSuffix(rest, []byte("later")) || len(got)+len(rest) != size+5 {
			t.Fatalf("%d bytes: drained %d, then %d bytes, %v", size, len(got), len(rest), err)
		}
		r.Close()
	}
}

// testReaper is the test process's one reaper: two would race for every
// child, as two in a monitor would.
var testReaper = sync.OnceValue(newReaper)

// The reaper is go-runc's process monitor: a command's exit status and its
// captured output both come back, although the reaper reaps the child.
func TestReaperAsProcessMonitor(t *testing.T) {
	r := testReaper()
	for _, tc := range []struct {
		script string
		status int
		out    string
	}{
		{"echo hi; exit 3", 3, "hi\n"},
		{"echo ok", 0, "ok\n"},
		{"kill -9 $$", 137, ""},
	} {
		var out strings.Builder
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		cmd.Stdout = &out
		ec, err := r.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		status, err := r.Wait(cmd, ec)
		if err != nil || status != tc.status || out.String() != tc.out {
			t.Fatalf("%s: status %d, output %q, %v; want %d, %q", tc.script, status, out.String(), err, tc.status, tc.out)
		}
	}
}

// TestDrainStopAfterFailure: after a failed runtime call, what is still in
// the pipe (its reader not scheduled yet) is read before the drain stops,
// so the runtime's message is never lost.
func TestDrainStopAfterFailure(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := startDrain(r)
	if _, err := w.Write([]byte("runtime: cannot do the thing\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := string(d.stop(true)); got != "runtime: cannot do the thing\n" {
		t.Fatalf("drained %q", got)
	}
}
