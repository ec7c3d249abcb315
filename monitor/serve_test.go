package monitor

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/monitor/contract"
	runc "github.com/containerd/go-runc"
)

// The request protocol on monitor.sock: one JSON line in, one JSON line
// out; attach and exec then carry a stream.
func TestServeRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exited   bool   // the payload has ended
		send     string // the request as written
		reply    string // a substring of the reply line
		stopping bool   // the request started a stop
		clients  int    // attached clients afterwards
	}{
		{name: "stop", exited: true, send: `{"op":"stop","timeout":1}`, reply: `{"pid":42}`, stopping: true},
		{name: "attach", send: `{"op":"attach"}`, reply: `{"pid":42}`, clients: 1},
		{name: "attach after the exit", exited: true, send: `{"op":"attach"}`, reply: `"error":"container is not running"`},
		{name: "unknown op", send: `{"op":"frobnicate"}`, reply: `"error":"unknown request \"frobnicate\""`},
		{name: "not JSON", send: `frobnicate`, reply: `"error":"bad request`},
		{name: "exec of a bad process", send: `{"op":"exec","process":5}`, reply: `"error":"exec: process:`},
		{name: "too long", send: `{"op":"exec","process":"` + strings.Repeat("a", contract.MaxRequest) + `"}`, reply: `too long`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := &mon{
				cfg:           contract.Config{ID: "c", RunDir: dir},
				rt:            &runc.Runc{Command: "/nonexistent"},
				main:          &session{pid: 42},
				clients:       map[*client]bool{},
				firstAttach:   make(chan struct{}),
				stopRequested: make(chan struct{}),
				exited:        make(chan struct{}),
			}
			if tc.exited {
				close(m.exited)
			}
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: contract.SocketPath(dir), Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go m.accept(t.Context(), l)
			c, err := net.Dial("unix", contract.SocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte(tc.send + "\n")); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			if !strings.Contains(line, tc.reply) {
				t.Fatalf("reply %q, want %q in it", line, tc.reply)
			}
			if m.stopping.Load() != tc.stopping {
				t.Fatalf("stopping %v, want %v", m.stopping.Load(), tc.stopping)
			}
			m.mu.Lock()
			n := len(m.clients)
			m.mu.Unlock()
			if n != tc.clients {
				t.Fatalf("%d clients, want %d", n, tc.clients)
			}
		})
	}
}
