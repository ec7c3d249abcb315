package monitor

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/stream"
	"github.com/berthd/berth/systemd"
	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type mon struct {
	cfg contract.Config
	// cgroup is the scope's cgroup directory (from berthd's go line);
	// the payload runs in its "container" child.
	cgroup string
	rt     *runc.Runc
	// xrt is rt for exec calls, through RunExecWrapper.
	xrt    *runc.Runc
	reaper *reaper
	jlog   *journalLogger

	main        *session
	mu          sync.Mutex
	clients     map[*client]bool
	firstAttach chan struct{}
	wantAttach  bool // the start waits for a first client
	attachOnce  sync.Once
	stopping    atomic.Bool
	// userStop is set by a stop of the user's (a stop request, SIGTERM
	// from systemctl stop of the scope), not by --health-on-failure stop.
	userStop atomic.Bool
	// stopRequested is closed at the first stop request (ends a wait
	// before a restart); spawnMu orders a restart's start against a
	// stop's first signal, restarts counts the run's restarts (both
	// the restart loop's, see supervise).
	stopRequested chan struct{}
	spawnMu       sync.Mutex
	restarts      int
	exited        chan struct{}
	execSeq       atomic.Int64

	health       *health     // nil without a healthcheck (health.go)
	restartAsked atomic.Bool // the payload's exit is a restart (health.go)
}

type client struct {
	conn *net.UnixConn
	w    *stream.Writer
}

// Run is berth-monitor's main: it returns the process exit code. start is
// the monitor's end of berthd's start pipe. It makes the monitor a child
// subreaper and installs its reaper as go-runc's process monitor, so call
// it once per process.
func Run(ctx context.Context, cfg contract.Config, start *os.File) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor: subreaper:", err)
		return 1
	}
	signal.Ignore(unix.SIGHUP, unix.SIGPIPE, unix.SIGINT)
	// SIGTERM, and SIGCONT (the scope's KillSignal: see package systemd),
	// ask for a stop.
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, unix.SIGTERM, unix.SIGCONT)
	r := newReaper()
	runc.Monitor = r
	m := &mon{
		cfg:           cfg,
		rt:            newRuntime(&cfg),
		xrt:           newExecRuntime(&cfg),
		reaper:        r,
		jlog:          newJournalLogger(cfg),
		clients:       map[*client]bool{},
		firstAttach:   make(chan struct{}),
		stopRequested: make(chan struct{}),
		exited:        make(chan struct{}),
	}
	m.health = newHealth(m)
	code, err := m.run(ctx, start, terms)
	if err != nil {
		systemd.Log(systemd.PriErr, "berth-monitor: "+err.Error(), map[string]string{events.FieldContainerID: cfg.ID})
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
	}
	return code
}

func (m *mon) run(ctx context.Context, start *os.File, terms chan os.Signal) (int, error) {
	sock := contract.SocketPath(m.cfg.RunDir)
	os.Remove(sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return 1, err
	}
	defer l.Close()
	if err := os.Chmod(sock, 0o600); err != nil {
		return 1, err
	}

	var g contract.Go
	if line, err := bufio.NewReader(start).ReadBytes('\n'); err != nil || json.Unmarshal(line, &g) != nil {
		// berthd gave up (no scope could be made): nothing was started.
		return 1, nil
	}
	answer := func(s contract.Started) {
		b, _ := json.Marshal(s)
		start.Write(append(b, '\n'))
		start.Close()
	}
	if err := joinCgroup(filepath.Join(g.Cgroup, "supervisor")); err != nil {
		answer(contract.Started{Error: err.Error()})
		return 1, err
	}
	m.cgroup = g.Cgroup
	if err := m.jlog.openLocal(); err != nil {
		answer(contract.Started{Error: err.Error()})
		return 1, err
	}
	// One runtime call creates and starts the payload. With Attach, its
	// output stays in the pipes (the payload blocks once they are full)
	// until the first client attaches, so the client misses nothing.
	started := time.Now()
	main, err := m.spawn(ctx, nil, m.cfg.Stdin, m.cfg.TTY, "init")
	if err != nil {
		m.rt.Delete(ctx, m.cfg.ID, &runc.DeleteOpts{Force: true})
		answer(contract.Started{Error: err.Error()})
		return 1, nil
	}
	m.mu.Lock()
	m.main = main
	m.mu.Unlock()
	answer(contract.Started{Pid: main.pid})
	if m.health != nil {
		m.health.begin()
		go m.health.loop(ctx)
	}
	attachDeadline := time.Now().Add(60 * time.Second)
	waitAttach := func() {
		if !g.Attach {
			return
		}
		select {
		case <-m.firstAttach:
		case <-time.After(time.Until(attachDeadline)):
		}
	}

	m.wantAttach = g.Attach
	go m.accept(ctx, l)
	go func() {
		for range terms {
			m.userStop.Store(true)
			m.stop(ctx, m.cfg.StopTimeout, 0)
		}
	}()
	code := m.supervise(ctx, main, started, waitAttach)
	close(m.exited)
	rec := contract.Exit{Version: contract.FormatVersion, ID: m.cfg.ID, Run: m.cfg.Run, RunID: m.cfg.RunID, ExitCode: code, FinishedAt: time.Now().UTC(), BootID: m.cfg.BootID, RestartCount: m.restarts, Stopped: m.userStop.Load()}
	if m.cfg.AutoRemove {
		rec.Removed = true
	} else if err := atomicfile.WriteJSON(contract.ExitPath(m.cfg.ContainerDir), rec, 0o644); err != nil {
		m.jlog.event(systemd.PriErr, "cannot record exit: "+err.Error())
	}
	// The local log is complete here (the pumps are done): berthd, told
	// next, may answer a wait, and a logs call after it sees every line.
	// berthd writes the died event; for --rm it is told while the record
	// still exists, so that a berthd started just now knows the container.
	told := m.tellBerthd(rec)
	if !told && !m.cfg.AutoRemove {
		// berthd is gone: the die event is written now, at the exit,
		// not when a berthd reads the record later.
		m.jlog.died(code)
		rec.Logged = true
		if err := atomicfile.WriteJSON(contract.ExitPath(m.cfg.ContainerDir), rec, 0o644); err != nil {
			m.jlog.event(systemd.PriErr, "cannot record exit: "+err.Error())
		}
	}
	if m.cfg.AutoRemove {
		if m.cfg.RootfsMount != "" {
			if err := unix.Unmount(m.cfg.RootfsMount, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				m.jlog.event(systemd.PriWarning, "unmount root file system: "+err.Error())
			}
		}
		os.RemoveAll(m.cfg.ContainerDir)
		if !told {
			m.jlog.died(code)
			m.jlog.removed()
		}
	}
	m.mu.Lock()
	for c := range m.clients {
		c.w.WriteInt(stream.Exit, int32(code))
		c.conn.Close()
	}
	m.clients = nil
	m.mu.Unlock()
	// The runtime's state goes last: clients have their exit code
	// already, and a new start of this container waits for the scope (so
	// for this monitor) to be gone.
	if err := m.rt.Delete(ctx, m.cfg.ID, &runc.DeleteOpts{Force: true}); err != nil {
		m.jlog.event(systemd.PriWarning, "runtime delete: "+contract.Cut(err.Error(), contract.MaxMessage))
	}
	if m.cfg.AutoRemove {
		os.RemoveAll(m.cfg.RunDir)
	} else {
		os.Remove(sock)
		// As docker, a stopped container's root file system is not left
		// mounted: the next start mounts it again once this scope is
		// gone, and a removal finds nothing to unmount.
		if m.cfg.RootfsMount != "" {
			if err := unix.Unmount(m.cfg.RootfsMount, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
				m.jlog.event(systemd.PriWarning, "unmount root file system: "+err.Error())
			}
		}
	}
	return 0, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// joinCgroup moves the monitor into the scope's supervisor leaf, so that
// the scope's root holds no process once the runtime enables controllers
// for container/.
func joinCgroup(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("supervisor cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0o644); err != nil {
		return fmt.Errorf("join supervisor cgroup: %w", err)
	}
	return nil
}

// notify tells a running berthd that this run ended, and reports whether
// berthd took the notice (it then writes the died event). berthd
// reconciles from disk anyway, so a missing berthd is fine. The notice
// carries the run's secret (the record on disk does not); berthd also
// checks that it comes from this scope's supervisor cgroup.
func (m *mon) notify(rec contract.Exit) bool {
	rec.Secret = m.cfg.Secret
	if m.cfg.NotifySocket == "" {
		return false
	}
	// An abstract address of its own, so that berthd can answer; the
	// monitor stays until it does (contract.NoticeAck), to be found in
	// its scope's supervisor cgroup when berthd checks the sender.
	var self *net.UnixAddr
	if b := make([]byte, 8); randRead(b) == nil {
		self = &net.UnixAddr{Name: fmt.Sprintf("@berth-monitor-%s-%x", m.cfg.ID, b), Net: "unixgram"}
	}
	c, err := net.DialUnix("unixgram", self, &net.UnixAddr{Name: m.cfg.NotifySocket, Net: "unixgram"})
	if err != nil && self != nil {
		self = nil
		c, err = net.DialUnix("unixgram", nil, &net.UnixAddr{Name: m.cfg.NotifySocket, Net: "unixgram"})
	}
	if err != nil {
		return false
	}
	defer c.Close()
	b, _ := json.Marshal(rec)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err = c.Write(b); err != nil {
		return false
	}
	if self != nil {
		c.SetReadDeadline(time.Now().Add(contract.NoticeAckWait))
		ack := make([]byte, 16)
		c.Read(ack)
	}
	return true
}

// stop delivers signal (0: the container's stop signal) through the
// runtime (and thaws a paused container) once, at the first request, then
// SIGKILL after timeout seconds: the shortest timeout of all requests wins, as when docker stop
// is called again.
func (m *mon) stop(ctx context.Context, timeout, signal int) {
	// The first request delivers the stop signal; each request, the
	// first included, SIGKILLs after its own timeout, so a later stop
	// with a shorter timeout (say rm -f, or a stop -t 0 after an
	// abandoned stop -t 3600) is not held up by an earlier, longer one.
	first := m.stopping.CompareAndSwap(false, true)
	if first {
		m.attachOnce.Do(func() { close(m.firstAttach) })
		close(m.stopRequested)
	}
	go func() {
		select {
		case <-m.exited:
			return
		default:
		}
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		kill := func() { m.rt.Kill(ctx, m.cfg.ID, int(unix.SIGKILL), &runc.KillOpts{All: true}) }
		if first {
			sig := signal
			if sig <= 0 {
				sig = m.cfg.StopSignal
			}
			if sig <= 0 {
				sig = int(unix.SIGTERM)
			}
			// The signal is the payload's: not the runtime's init
			// helper's, which runc leaves in the container for a moment
			// after its start returns. The helper (a Go program as the
			// namespace's PID 1) exits 2 on SIGTERM, a code that is
			// neither the payload's nor its signal's.
			// A restart under way has its payload started first (the
			// restart loop starts none after this stop).
			m.spawnMu.Lock()
			m.spawnMu.Unlock()
			switch m.awaitExec(ctx, t.C) {
			case payloadExited:
				return
			case stopTimedOut:
				kill()
				return
			}
			m.rt.Kill(ctx, m.cfg.ID, sig, nil)
			// A paused container only acts on the signal once thawed.
			m.rt.Resume(ctx, m.cfg.ID)
		}
		select {
		case <-m.exited:
		case <-t.C:
			kill()
		}
	}()
}

// What awaitExec saw.
const (
	payloadExeced = iota
	payloadExited
	stopTimedOut
)

// awaitExec waits until the main process is the payload (no longer the
// runtime's init helper), it exited (or none runs: it waits to be
// restarted), or timeout fires, and says which. A
// helper that is frozen (a pause came before its exec) is thawed first,
// so that it can exec; the stop thaws the payload anyway.
func (m *mon) awaitExec(ctx context.Context, timeout <-chan time.Time) int {
	thawed := false
	for {
		s := m.payload()
		if s == nil {
			return payloadExited
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", s.pid))
		if err != nil || !runtimeInit(string(comm)) {
			return payloadExeced
		}
		if !thawed {
			m.rt.Resume(ctx, m.cfg.ID)
			thawed = true
		}
		select {
		case <-m.exited:
			return payloadExited
		case <-timeout:
			return stopTimedOut
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// runtimeInit reports whether comm (a /proc/<pid>/comm) names runc's init
// helper ("runc:[2:INIT]", its name from its namespace set-up until it
// execs the payload). A payload exec changes comm to its file's base name.
func runtimeInit(comm string) bool {
	return strings.TrimSuffix(comm, "\n") == "runc:[2:INIT]"
}

func (m *mon) accept(ctx context.Context, l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go m.serve(ctx, c)
	}
}

func (m *mon) serve(ctx context.Context, c *net.UnixConn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply := func(r contract.Reply) error {
		b, _ := json.Marshal(r)
		_, err := c.Write(append(b, '\n'))
		return err
	}
	req, err := contract.ReadRequest(c)
	if err != nil {
		switch {
		case errors.Is(err, contract.ErrLineTooLong):
			reply(contract.Reply{Error: fmt.Sprintf("request of %d bytes or more: too long", contract.MaxRequest)})
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrDeadlineExceeded):
		default:
			reply(contract.Reply{Error: err.Error()})
		}
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	switch req.Op {
	case contract.OpStop:
		m.userStop.Store(true)
		m.stop(ctx, req.Timeout, req.Signal)
		reply(contract.Reply{Pid: pidOf(m.payload())})
		c.Close()
	case contract.OpState:
		reply(contract.Reply{Pid: pidOf(m.payload()), Run: m.cfg.Run})
		c.Close()
	case contract.OpUpdate:
		if req.Restart != nil {
			m.setPolicy(*req.Restart)
		}
		if req.Name != "" {
			m.jlog.name.Store(&req.Name)
		}
		reply(contract.Reply{Pid: pidOf(m.payload())})
		c.Close()
	case contract.OpHealthcheck:
		reply(m.serveHealthcheck(ctx))
		c.Close()
	case contract.OpAttach:
		m.attach(ctx, c, req, reply)
	case contract.OpExec:
		m.exec(ctx, c, req, reply)
	default:
		reply(contract.Reply{Error: fmt.Sprintf("unknown request %q", req.Op)})
		c.Close()
	}
}

func (m *mon) attach(ctx context.Context, c *net.UnixConn, req contract.Request, reply func(contract.Reply) error) {
	select {
	case <-m.exited:
		// A start that waits for its first client keeps the output of a
		// payload that has already exited for that client.
		first := false
		if m.wantAttach {
			select {
			case <-m.firstAttach:
			default:
				first = true
			}
		}
		if !first {
			reply(contract.Reply{Error: "container is not running"})
			c.Close()
			return
		}
	default:
	}
	cl := &client{conn: c, w: stream.NewWriter(c)}
	m.mu.Lock()
	s := m.main
	if m.clients == nil || s == nil {
		m.mu.Unlock()
		msg := "container is not running"
		if s == nil {
			msg = "container is restarting: wait until it runs"
		}
		reply(contract.Reply{Error: msg})
		c.Close()
		return
	}
	m.clients[cl] = true
	m.mu.Unlock()
	if reply(contract.Reply{Pid: s.pid}) != nil {
		m.dropClient(cl)
		return
	}
	m.attachOnce.Do(func() { close(m.firstAttach) })
	go m.readInput(c, s, req.Stdin, func(sig int) {
		m.rt.Kill(ctx, m.cfg.ID, sig, nil)
	}, func() { m.dropClient(cl) })
}

func (m *mon) dropClient(cl *client) {
	m.mu.Lock()
	if m.clients != nil {
		delete(m.clients, cl)
	}
	m.mu.Unlock()
}

// readInput applies a client's frames to a session until the client goes.
func (m *mon) readInput(c *net.UnixConn, s *session, stdin bool, kill func(int), gone func()) {
	defer gone()
	for {
		k, p, err := stream.Read(c)
		if err != nil {
			return
		}
		switch k {
		case stream.Stdin:
			if stdin && s.stdin != nil {
				s.stdin.Write(p)
			}
		case stream.CloseStdin:
			if stdin && s.stdin != nil && s.console == nil {
				s.stdin.Close()
			}
		case stream.Resize:
			if rows, cols, err := stream.ParseResize(p); err == nil && s.console != nil {
				s.console.Resize(console.WinSize{Height: rows, Width: cols})
			}
		case stream.Signal:
			if sig, err := stream.Int(p); err == nil && sig > 0 {
				kill(int(sig))
			}
		}
	}
}

// pumpMain sends one output of the payload to the journal and to every
// attached client.
func (m *mon) pumpMain(o output) {
	lw := m.jlog.stream(o.kind)
	send := func(p []byte) {
		lw.write(p)
		m.mu.Lock()
		for c := range m.clients {
			if c.w.Write(stream.Kind(o.kind), p) != nil {
				delete(m.clients, c)
				c.conn.Close()
			}
		}
		m.mu.Unlock()
	}
	if len(o.early) > 0 {
		send(o.early)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := o.r.Read(buf)
		if n > 0 {
			send(buf[:n])
		}
		if err != nil {
			lw.close()
			return
		}
	}
}

func (m *mon) exec(ctx context.Context, c *net.UnixConn, req contract.Request, reply func(contract.Reply) error) {
	tag := "exec" + strconv.FormatInt(m.execSeq.Add(1), 10)
	var p specs.Process
	if err := json.Unmarshal(req.Process, &p); err != nil {
		reply(contract.Reply{Error: "exec: process: " + err.Error()})
		c.Close()
		return
	}
	s, err := m.spawn(ctx, &p, req.Stdin, req.TTY, tag)
	if err != nil {
		reply(contract.Reply{Error: err.Error()})
		c.Close()
		return
	}
	defer s.close()
	exited := m.reaper.wait(s.pid)
	if reply(contract.Reply{Pid: s.pid}) != nil {
		unix.Kill(s.pid, unix.SIGKILL)
	}
	w := stream.NewWriter(c)
	var pumps sync.WaitGroup
	for _, o := range s.outputs {
		pumps.Add(1)
		go func(o output) {
			defer pumps.Done()
			if len(o.early) > 0 {
				w.Write(stream.Kind(o.kind), o.early)
			}
			buf := make([]byte, 32<<10)
			for {
				n, err := o.r.Read(buf)
				if n > 0 {
					w.Write(stream.Kind(o.kind), buf[:n])
				}
				if err != nil {
					return
				}
			}
		}(o)
	}
	go m.readInput(c, s, req.Stdin, func(sig int) { unix.Kill(s.pid, unix.Signal(sig)) }, func() {})
	code := (<-exited).Status
	waitTimeout(&pumps, 2*time.Second)
	w.WriteInt(stream.Exit, int32(code))
	c.Close()
}

// pidOf is a session's pid, 0 for none.
func pidOf(s *session) int {
	if s == nil {
		return 0
	}
	return s.pid
}

// randRead fills b with random bytes.
func randRead(b []byte) error {
	_, err := rand.Read(b)
	return err
}
