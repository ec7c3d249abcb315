// Package logs reads a container's output back from the journal, by way of
// journalctl (no cgo), and turns it into stream frames: PRIORITY 3 entries
// are stderr, the rest stdout. Partial entries are joined without a newline.
package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/berthd/berth/stream"
	"golang.org/x/sys/unix"
)

// Options select what to read.
type Options struct {
	Follow bool
	Tail   int // 0: all
	// Stop, when closed, ends a follow after StopGrace (the container has
	// exited; its last lines reach the journal before its exit is known).
	Stop <-chan struct{}
}

// StopGrace is how long a follow goes on after Stop is closed.
const StopGrace = time.Second

// Open starts reading the logs of container id and returns the client's end
// of a stream. done is called when the stream ends (journalctl finished or
// the client went away).
func Open(ctx context.Context, id string, o Options, done func()) (*os.File, error) {
	args := []string{"--output=json", "--no-pager", "--quiet", "--all", "CONTAINER_ID_FULL=" + id, "CONTAINER_ID=" + short(id), "--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE"}
	if o.Follow {
		args = append(args, "--follow")
	}
	if o.Tail > 0 {
		args = append(args, "--lines="+strconv.Itoa(o.Tail))
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Our end is non-blocking, so the runtime poller serves it: Close
	// then interrupts a pending Read and deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	ours := os.NewFile(uintptr(fds[0]), "logs")
	theirs := os.NewFile(uintptr(fds[1]), "logs-client")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		ours.Close()
		theirs.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		ours.Close()
		theirs.Close()
		return nil, fmt.Errorf("journalctl: %w", err)
	}
	if o.Stop != nil {
		go func() {
			select {
			case <-o.Stop:
				select {
				case <-time.After(StopGrace):
				case <-ctx.Done():
				}
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	// The client never writes: a read that returns means it went away.
	go func() {
		io.Copy(io.Discard, ours)
		cancel()
	}()
	go func() {
		defer done()
		defer ours.Close()
		defer cancel()
		w := stream.NewWriter(ours)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			kind, msg, ok := Decode(sc.Bytes())
			if !ok {
				continue
			}
			if w.Write(kind, msg) != nil {
				break
			}
		}
		cmd.Wait()
	}()
	return theirs, nil
}

// Decode turns one journalctl JSON line into a frame kind and payload.
// MESSAGE may be a string or, for non-UTF-8 data, an array of bytes.
func Decode(line []byte) (stream.Kind, []byte, bool) {
	var e struct {
		Message  json.RawMessage `json:"MESSAGE"`
		Priority string          `json:"PRIORITY"`
		Partial  string          `json:"CONTAINER_PARTIAL_MESSAGE"`
	}
	if json.Unmarshal(line, &e) != nil || e.Message == nil {
		return 0, nil, false
	}
	var msg []byte
	var s string
	if json.Unmarshal(e.Message, &s) == nil {
		msg = []byte(s)
	} else if json.Unmarshal(e.Message, &msg) != nil {
		var ints []int
		if json.Unmarshal(e.Message, &ints) != nil {
			return 0, nil, false
		}
		msg = make([]byte, len(ints))
		for i, v := range ints {
			msg[i] = byte(v)
		}
	}
	if e.Partial != "true" {
		msg = append(msg, '\n')
	}
	kind := stream.Stdout
	if e.Priority == "3" {
		kind = stream.Stderr
	}
	return kind, msg, true
}

// short is the 12-character id that output entries carry in CONTAINER_ID;
// berth's own event entries lack that field, so they are not output.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
