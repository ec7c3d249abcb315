package monitor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/stream"
	"github.com/berthd/berth/systemd"
	"golang.org/x/sys/unix"
)

type mon struct {
	cfg    Config
	reaper *reaper
	jlog   *journalLogger

	main        *session
	mu          sync.Mutex
	clients     map[*client]bool
	firstAttach chan struct{}
	wantAttach  bool // the start waits for a first client
	attachOnce  sync.Once
	stopping    atomic.Bool
	exited      chan struct{}
	execSeq     atomic.Int64
}

type client struct {
	conn *net.UnixConn
	w    *stream.Writer
}

// Run is berth-monitor's main: it returns the process exit code. start is
// the monitor's end of berthd's start pipe.
func Run(cfg Config, start *os.File) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor: subreaper:", err)
		return 1
	}
	signal.Ignore(unix.SIGHUP, unix.SIGPIPE, unix.SIGINT)
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, unix.SIGTERM)
	m := &mon{
		cfg:         cfg,
		reaper:      newReaper(),
		jlog:        newJournalLogger(cfg),
		clients:     map[*client]bool{},
		firstAttach: make(chan struct{}),
		exited:      make(chan struct{}),
	}
	code, err := m.run(start, terms)
	if err != nil {
		systemd.Log(systemd.PriErr, "berth-monitor: "+err.Error(), map[string]string{"CONTAINER_ID_FULL": cfg.ID})
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
	}
	return code
}

func (m *mon) run(start *os.File, terms chan os.Signal) (int, error) {
	sock := SocketPath(m.cfg.RunDir)
	os.Remove(sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return 1, err
	}
	defer l.Close()
	if err := os.Chmod(sock, 0o600); err != nil {
		return 1, err
	}

	br := bufio.NewReader(start)
	var g Go
	if err := readJSONLine(br, &g); err != nil {
		// berthd gave up (no scope could be made): nothing was started.
		return 1, nil
	}
	answer := func(s Started) {
		b, _ := json.Marshal(s)
		start.Write(append(b, '\n'))
		start.Close()
	}
	if err := joinCgroup(filepath.Join(g.Cgroup, "supervisor")); err != nil {
		answer(Started{Error: err.Error()})
		return 1, err
	}
	// One runtime call creates and starts the payload. With Attach, its
	// output stays in the pipes (the payload blocks once they are full)
	// until the first client attaches, so the client misses nothing.
	main, err := m.spawn("run", "", m.cfg.Stdin, m.cfg.TTY, "init")
	if err != nil {
		m.runtimeCall([3]*os.File{}, "delete", "--force", m.cfg.ID)
		answer(Started{Error: err.Error()})
		return 1, nil
	}
	m.main = main
	answer(Started{Pid: main.pid})
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
	go m.accept(l)
	go func() {
		for range terms {
			m.stop(m.cfg.StopTimeout)
		}
	}()
	var pumps sync.WaitGroup
	for _, o := range main.outputs {
		pumps.Add(1)
		go func(o output) {
			defer pumps.Done()
			waitAttach()
			m.pumpMain(o)
		}(o)
	}

	ws := <-m.reaper.wait(main.pid)
	close(m.exited)
	code := exitCode(ws)
	waitAttach()
	waitTimeout(&pumps, 2*time.Second)
	if main.stdin != nil {
		main.stdin.Close()
	}
	rec := Exit{Version: FormatVersion, ID: m.cfg.ID, RunID: m.cfg.RunID, ExitCode: code, FinishedAt: time.Now().UTC(), BootID: m.cfg.BootID}
	if m.cfg.AutoRemove {
		rec.Removed = true
		if m.cfg.RootfsMount != "" {
			if err := unix.Unmount(m.cfg.RootfsMount, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				m.jlog.event(systemd.PriWarning, "unmount root file system: "+err.Error())
			}
		}
		os.RemoveAll(m.cfg.ContainerDir)
	} else if err := atomicfile.WriteJSON(ExitPath(m.cfg.ContainerDir), rec, 0o644); err != nil {
		m.jlog.event(systemd.PriErr, "cannot record exit: "+err.Error())
	}
	m.jlog.died(code)
	if m.cfg.AutoRemove {
		m.jlog.removed()
	}
	m.notify(rec)
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
	if err := m.runtimeCall([3]*os.File{}, "delete", "--force", m.cfg.ID); err != nil {
		m.jlog.event(systemd.PriWarning, err.Error())
	}
	if m.cfg.AutoRemove {
		os.RemoveAll(m.cfg.RunDir)
	} else {
		os.Remove(sock)
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

// notify tells a running berthd that this run ended; berthd reconciles from
// disk anyway, so a missing berthd is fine.
func (m *mon) notify(rec Exit) {
	if m.cfg.NotifySocket == "" {
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: m.cfg.NotifySocket, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	b, _ := json.Marshal(rec)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(b)
}

// stop delivers the stop signal, then SIGKILL after timeout seconds. Only
// the first request counts.
func (m *mon) stop(timeout int) {
	if !m.stopping.CompareAndSwap(false, true) {
		return
	}
	m.attachOnce.Do(func() { close(m.firstAttach) })
	go func() {
		select {
		case <-m.exited:
			return
		default:
		}
		sig := m.cfg.StopSignal
		if sig == 0 {
			sig = int(unix.SIGTERM)
		}
		m.runtimeCall([3]*os.File{}, "kill", m.cfg.ID, strconv.Itoa(sig))
		// A paused container only acts on the signal once thawed.
		m.runtimeCall([3]*os.File{}, "resume", m.cfg.ID)
		select {
		case <-m.exited:
		case <-time.After(time.Duration(timeout) * time.Second):
			m.runtimeCall([3]*os.File{}, "kill", m.cfg.ID, "9")
		}
	}()
}

func (m *mon) accept(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go m.serve(c)
	}
}

func (m *mon) serve(c *net.UnixConn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(c)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	var req Request
	reply := func(r Reply) error {
		b, _ := json.Marshal(r)
		_, err := c.Write(append(b, '\n'))
		return err
	}
	if err := json.Unmarshal(line, &req); err != nil {
		reply(Reply{Error: "bad request: " + err.Error()})
		c.Close()
		return
	}
	switch req.Op {
	case "stop":
		m.stop(req.Timeout)
		reply(Reply{Pid: m.main.pid})
		c.Close()
	case "attach":
		m.attach(c, req, reply)
	case "exec":
		m.exec(c, req, reply)
	default:
		reply(Reply{Error: fmt.Sprintf("unknown request %q", req.Op)})
		c.Close()
	}
}

func (m *mon) attach(c *net.UnixConn, req Request, reply func(Reply) error) {
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
			reply(Reply{Error: "container is not running"})
			c.Close()
			return
		}
	default:
	}
	cl := &client{conn: c, w: stream.NewWriter(c)}
	m.mu.Lock()
	if m.clients == nil {
		m.mu.Unlock()
		reply(Reply{Error: "container is not running"})
		c.Close()
		return
	}
	m.clients[cl] = true
	m.mu.Unlock()
	if reply(Reply{Pid: m.main.pid}) != nil {
		m.dropClient(cl)
		return
	}
	m.attachOnce.Do(func() { close(m.firstAttach) })
	go m.readInput(c, m.main, req.Stdin, func(sig int) {
		m.runtimeCall([3]*os.File{}, "kill", m.cfg.ID, strconv.Itoa(sig))
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
				unix.IoctlSetWinsize(int(s.console.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
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
	buf := make([]byte, 32<<10)
	lw := m.jlog.stream(o.kind)
	for {
		n, err := o.r.Read(buf)
		if n > 0 {
			lw.write(buf[:n])
			m.mu.Lock()
			for c := range m.clients {
				if c.w.Write(stream.Kind(o.kind), buf[:n]) != nil {
					delete(m.clients, c)
					c.conn.Close()
				}
			}
			m.mu.Unlock()
		}
		if err != nil {
			lw.close()
			return
		}
	}
}

func (m *mon) exec(c *net.UnixConn, req Request, reply func(Reply) error) {
	n := m.execSeq.Add(1)
	tag := "exec" + strconv.FormatInt(n, 10)
	procFile := filepath.Join(m.cfg.RunDir, tag+".json")
	if err := os.WriteFile(procFile, req.Process, 0o600); err != nil {
		reply(Reply{Error: err.Error()})
		c.Close()
		return
	}
	defer os.Remove(procFile)
	s, err := m.spawn("exec", procFile, req.Stdin, req.TTY, tag)
	if err != nil {
		reply(Reply{Error: err.Error()})
		c.Close()
		return
	}
	exited := m.reaper.wait(s.pid)
	if reply(Reply{Pid: s.pid}) != nil {
		unix.Kill(s.pid, unix.SIGKILL)
	}
	w := stream.NewWriter(c)
	var pumps sync.WaitGroup
	for _, o := range s.outputs {
		pumps.Add(1)
		go func(o output) {
			defer pumps.Done()
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
	ws := <-exited
	waitTimeout(&pumps, 2*time.Second)
	for _, o := range s.outputs {
		o.r.Close()
	}
	if s.stdin != nil && s.stdin != s.console {
		s.stdin.Close()
	}
	w.WriteInt(stream.Exit, int32(exitCode(ws)))
	c.Close()
}
