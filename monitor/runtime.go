package monitor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cleanEnv is the whole environment of runtime calls: nothing of berthd's
// (no LISTEN_*, NOTIFY_SOCKET or INVOCATION_ID) reaches the payload.
var cleanEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// runtimeCall runs the OCI runtime with the given stdio (nil means
// /dev/null) and waits for it through the reaper. It returns the error
// that the runtime logged or printed when it fails.
func (m *mon) runtimeCall(stdio [3]*os.File, args ...string) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	files := []*os.File{null, null, nil}
	for i, f := range stdio {
		if f != nil {
			files[i] = f
		}
	}
	var errBuf *os.File
	var errR *os.File
	if files[2] == nil {
		errR, errBuf, err = os.Pipe()
		if err != nil {
			return err
		}
		defer errR.Close()
		files[2] = errBuf
	}
	logFile := filepath.Join(m.cfg.RunDir, "runtime.log")
	full := append([]string{m.cfg.RuntimePath, "--root", m.cfg.RuntimeRoot, "--log", logFile, "--log-format", "json"}, args...)
	p, err := os.StartProcess(m.cfg.RuntimePath, full, &os.ProcAttr{Dir: m.cfg.RunDir, Env: cleanEnv, Files: files})
	if errBuf != nil {
		errBuf.Close()
	}
	if err != nil {
		return fmt.Errorf("runtime %s: %w", m.cfg.RuntimePath, err)
	}
	pid := p.Pid
	p.Release()
	var stderr bytes.Buffer
	if errR != nil {
		io.Copy(&stderr, io.LimitReader(errR, 64<<10))
	}
	ws := <-m.reaper.wait(pid)
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	msg := lastRuntimeError(logFile)
	if msg == "" {
		msg = strings.TrimSpace(stderr.String())
	}
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", exitCode(ws))
	}
	return fmt.Errorf("runtime %s %s: %s", filepath.Base(m.cfg.RuntimePath), args[0], msg)
}

// lastRuntimeError returns the last error-level message of the runtime's
// JSON log.
func lastRuntimeError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			last = e.Msg
		}
	}
	return last
}

// session is one process in the container: the payload or an exec.
type session struct {
	pid     int
	stdin   *os.File // pipe write end or pty master; nil without stdin
	outputs []output
	console *os.File
}

type output struct {
	r    *os.File
	kind int // 1 stdout, 2 stderr
}

// spawn starts a process with the runtime, detached: "run" for the
// payload, "exec" for an exec (with processFile).
func (m *mon) spawn(op, processFile string, stdin, tty bool, tag string) (*session, error) {
	pidFile := filepath.Join(m.cfg.RunDir, tag+".pid")
	os.Remove(pidFile)
	args := []string{op, "--detach"}
	if op == "run" {
		args = append(args, "--bundle", m.cfg.Bundle())
	} else {
		args = append(args, "--process", processFile)
	}
	args = append(args, "--pid-file", pidFile)
	s := &session{}
	var stdio [3]*os.File
	var closeAfter []*os.File
	var consoleCh chan consoleResult
	if tty {
		sock := filepath.Join(m.cfg.RunDir, tag+".console")
		os.Remove(sock)
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			return nil, err
		}
		defer os.Remove(sock)
		defer l.Close()
		consoleCh = make(chan consoleResult, 1)
		go func() { consoleCh <- receiveConsole(l) }()
		args = append(args, "--console-socket", sock)
	} else {
		if stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, err
			}
			stdio[0], s.stdin = r, w
			closeAfter = append(closeAfter, r)
		}
		for i := 1; i <= 2; i++ {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, err
			}
			stdio[i] = w
			closeAfter = append(closeAfter, w)
			s.outputs = append(s.outputs, output{r: r, kind: i})
		}
	}
	args = append(args, m.cfg.ID)
	err := m.runtimeCall(stdio, args...)
	for _, f := range closeAfter {
		f.Close()
	}
	if err == nil && tty {
		select {
		case res := <-consoleCh:
			if res.err != nil {
				err = res.err
			} else {
				s.console = res.f
				s.outputs = []output{{r: res.f, kind: 1}}
				if stdin {
					s.stdin = res.f
				}
			}
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("runtime sent no console")
		}
	}
	if err == nil {
		s.pid, err = readPid(pidFile)
	}
	if err != nil {
		if s.stdin != nil {
			s.stdin.Close()
		}
		for _, o := range s.outputs {
			o.r.Close()
		}
		return nil, err
	}
	return s, nil
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("runtime wrote no pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("runtime pid file %s: %q", path, b)
	}
	return pid, nil
}

type consoleResult struct {
	f   *os.File
	err error
}

// receiveConsole accepts the runtime's connection on the console socket and
// takes the pty master passed with SCM_RIGHTS.
func receiveConsole(l *net.UnixListener) consoleResult {
	l.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		return consoleResult{err: fmt.Errorf("console socket: %w", err)}
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return consoleResult{err: fmt.Errorf("console socket: %w", err)}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return consoleResult{err: fmt.Errorf("console socket: no control message")}
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return consoleResult{err: fmt.Errorf("console socket: no descriptor")}
	}
	return consoleResult{f: os.NewFile(uintptr(fds[0]), "pty-master")}
}
