package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxEarly bounds what is read from a payload's output pipes while the
// runtime call that starts it runs (see drain); more is dropped.
const maxEarly = 4 << 20

// ExecRuntimeEnv, when set in berth-monitor's environment, makes it a
// wrapper of the runtime whose path it holds: RunExecWrapper runs that
// runtime with the wrapper's arguments in a mount namespace of its own.
const ExecRuntimeEnv = "BERTH_MONITOR_EXEC_RUNTIME"

// RunExecWrapper is berth-monitor's main when ExecRuntimeEnv is set (the
// monitor runs its runtime's exec calls through itself: see
// newExecRuntime): it moves into a new mount namespace that takes the
// host's mounts but sends none back (slave), then executes the runtime
// with its own arguments. So the mount runc makes of its own binary for
// each exec (runc.XXXXXX in its state directory) is never seen by
// systemd, which would log each one as a mount unit going away: a
// healthcheck every second would write to the journal for every few
// checks. It returns only on failure.
func RunExecWrapper(runtime string) error {
	os.Unsetenv(ExecRuntimeEnv)
	// unshare(2) acts on the calling thread; exec(2) from the same thread
	// carries its mount namespace into the runtime.
	goruntime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make mounts slave: %w", err)
	}
	return unix.Exec(runtime, append([]string{runtime}, os.Args[1:]...), os.Environ())
}

// newExecRuntime is the client for the run's exec calls (healthchecks,
// berthctl exec): the runtime reached through this monitor's own binary
// as RunExecWrapper. It sets ExecRuntimeEnv in the monitor's environment,
// which its runtime calls inherit; only a berth-monitor acts on it.
func newExecRuntime(cfg *contract.Config) *runc.Runc {
	r := newRuntime(cfg)
	if os.Setenv(ExecRuntimeEnv, cfg.RuntimePath) == nil {
		// The monitor's own image, even when a package upgrade replaced
		// the file.
		r.Command = "/proc/self/exe"
	}
	return r
}

// newRuntime returns the client for the run's recorded runtime: every
// runtime call of the run but exec goes through it.
func newRuntime(cfg *contract.Config) *runc.Runc {
	return &runc.Runc{
		Command:   cfg.RuntimePath,
		Root:      cfg.RuntimeRoot,
		Log:       filepath.Join(cfg.RunDir, "runtime.log"),
		LogFormat: runc.JSON,
		WorkDir:   cfg.RunDir,
	}
}

// runtimeError turns a failed runtime call into the message the runtime
// logged at error level after offset in logFile, else what it wrote to
// stderr (a runtime, or a wrapper, that fails before it logs), else err,
// cut to MaxMessage.
func runtimeError(op, logFile string, offset int64, stderr []byte, err error) error {
	msg := lastRuntimeError(logFile, offset)
	if msg == "" && len(bytes.TrimSpace(stderr)) > 0 {
		msg = string(bytes.TrimSpace(stderr)) + " (" + err.Error() + ")"
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("runtime %s: %s", op, contract.Cut(strings.TrimSpace(msg), contract.MaxMessage))
}

// logSize is the current size of a runtime log, where the next call's
// messages begin.
func logSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// lastRuntimeError returns the last error-level message of the runtime's
// JSON log after offset. Entries of any size are read in a stream.
func lastRuntimeError(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	var last string
	dec := json.NewDecoder(f)
	for {
		var e struct{ Level, Msg string }
		if err := dec.Decode(&e); err != nil {
			return last
		}
		if e.Level == "error" || e.Level == "fatal" {
			last = e.Msg
		}
	}
}

// session is one process in the container: the payload or an exec.
type session struct {
	pid     int
	stdin   io.WriteCloser // pipe write end or pty master; nil without stdin
	outputs []output
	console console.Console // nil without a TTY
	io      runc.IO         // nil with a TTY
}

// close releases the session's descriptors.
func (s *session) close() {
	if s.io != nil {
		s.io.Close()
	}
	if s.console != nil {
		s.console.Close()
	}
}

type output struct {
	r     io.Reader
	kind  int    // 1 stdout, 2 stderr
	early []byte // read while the runtime call ran; goes first
}

// spawn starts a process with the runtime, detached: the payload when
// process is nil, an exec of process otherwise. tag names the run's files
// for it (pid file, console socket, exec log).
func (m *mon) spawn(ctx context.Context, process *specs.Process, stdin, tty bool, tag string) (*session, error) {
	pidFile := filepath.Join(m.cfg.RunDir, tag+".pid")
	os.Remove(pidFile)
	s := &session{}
	var cs runc.ConsoleSocket // an interface: nil without a TTY
	var sock *runc.Socket
	var consoleCh chan consoleResult
	if tty {
		path := filepath.Join(m.cfg.RunDir, tag+".console")
		os.Remove(path)
		var err error
		if sock, err = runc.NewConsoleSocket(path); err != nil {
			return nil, err
		}
		cs = sock
		defer os.Remove(path)
		defer sock.Close()
		consoleCh = make(chan consoleResult, 1)
		go func() {
			c, err := sock.ReceiveMaster()
			consoleCh <- consoleResult{c, err}
		}()
	} else {
		pio, err := runc.NewPipeIO(0, 0, func(o *runc.IOOption) { o.OpenStdin = stdin })
		if err != nil {
			return nil, err
		}
		s.io = pio
		if stdin {
			s.stdin = pio.Stdin()
		}
	}
	// The runtime hands its own stdio to the process, so it writes its
	// errors into the payload's stderr: read the pipes while it runs, so
	// that no message, however long, fills them and blocks the call.
	var drains []*drain
	if s.io != nil {
		// go-runc's pipes are *os.File: pollable, so deadlines work.
		drains = []*drain{startDrain(s.io.Stdout().(*os.File)), startDrain(s.io.Stderr().(*os.File))}
	}
	logFile := m.rt.Log
	if process != nil {
		logFile = filepath.Join(m.cfg.RunDir, tag+".log")
		defer os.Remove(logFile)
	}
	offset := logSize(logFile)
	var err error
	if process == nil {
		_, err = m.rt.Run(ctx, m.cfg.ID, m.cfg.Bundle(), &runc.CreateOpts{IO: s.io, PidFile: pidFile, ConsoleSocket: cs, Detach: true})
	} else {
		err = m.xrt.Exec(ctx, m.cfg.ID, *process, &runc.ExecOpts{IO: s.io, PidFile: pidFile, ConsoleSocket: cs, Detach: true, LogFile: logFile})
	}
	if s.io != nil {
		s.io.(runc.StartCloser).CloseAfterStart()
	}
	for i, d := range drains {
		s.outputs = append(s.outputs, output{r: d.r, kind: i + 1, early: d.stop(err != nil)})
		if d.dropped > 0 {
			m.jlog.event(systemd.PriWarning, fmt.Sprintf("%d bytes of output written while the runtime ran were dropped", d.dropped))
		}
	}
	op := "run"
	if process != nil {
		op = "exec"
	}
	if err != nil {
		var stderr []byte
		if len(s.outputs) == 2 {
			stderr = s.outputs[1].early
		}
		err = runtimeError(op, logFile, offset, stderr, err)
	}
	if err == nil && tty {
		select {
		case res := <-consoleCh:
			if res.err != nil {
				err = fmt.Errorf("console socket: %w", res.err)
			} else {
				s.console = res.c
				s.outputs = []output{{r: res.c, kind: 1}}
				if stdin {
					s.stdin = res.c
				}
			}
		case <-time.After(10 * time.Second):
			err = errors.New("runtime sent no console")
		}
	}
	if err == nil {
		s.pid, err = runc.ReadPidFile(pidFile)
		if err != nil {
			err = fmt.Errorf("runtime wrote no pid file: %w", err)
		}
	}
	if err != nil {
		s.close()
		if tty && s.console == nil {
			// A console the runtime sent before it failed is closed too.
			sock.Close()
			if res := <-consoleCh; res.c != nil {
				res.c.Close()
			}
		}
		return nil, err
	}
	return s, nil
}

type consoleResult struct {
	c   console.Console
	err error
}

// drain reads one output pipe into memory until stopped.
type drain struct {
	r       *os.File
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
	done    chan struct{}
}

func startDrain(r *os.File) *drain {
	d := &drain{r: r, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		p := make([]byte, 32<<10)
		for {
			n, err := r.Read(p)
			d.mu.Lock()
			if room := maxEarly - d.buf.Len(); n > room {
				d.dropped += n - room
				n = room
			}
			d.buf.Write(p[:n])
			d.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return d
}

// stop ends the reading (the pipe stays open) and returns what was read.
// After a failed runtime call (failed), whose message may still sit in the
// pipe when the runtime has exited (the reader not yet scheduled, on a
// busy machine), it first waits, a second at most, until the pipe is
// empty; after a successful one the payload's output stays in the pipe
// for the pumps.
func (d *drain) stop(failed bool) []byte {
	if failed {
		// (Through SyscallConn: Fd would make the pipe blocking and
		// end the deadlines.)
		rc, err := d.r.SyscallConn()
		for deadline := time.Now().Add(time.Second); err == nil && time.Now().Before(deadline); {
			queued := 0
			rc.Control(func(fd uintptr) {
				queued, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) // FIONREAD
			})
			if queued == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	d.r.SetReadDeadline(time.Now())
	<-d.done
	d.r.SetReadDeadline(time.Time{})
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.buf.Bytes()
}
