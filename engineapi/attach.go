package engineapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/logs"
	"github.com/berthd/berth/stream"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types"
	"golang.org/x/sys/unix"
)

// ttyStream is an open attach or exec stream to a monitor, kept for
// resize requests.
type ttyStream struct {
	w *stream.Writer
}

// hijack takes over the connection of an attach or exec start and sends
// docker's answer: 101 UPGRADED when the client asked for an upgrade, 200
// otherwise, with the stream's media type.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the connection cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	media := types.MediaTypeMultiplexedStream
	if tty {
		media = types.MediaTypeRawStream
	}
	var b strings.Builder
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") || strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		b.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n")
	} else {
		b.WriteString("HTTP/1.1 200 OK\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: %s\r\n", media)
	for _, k := range []string{"Api-Version", "Server", "Ostype"} {
		fmt.Fprintf(&b, "%s: %s\r\n", k, w.Header().Get(k))
	}
	b.WriteString("\r\n")
	if _, err := rw.WriteString(b.String()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rw, nil
}

// clientInput reads the client's side of a hijacked connection from the
// moment of the hijack (a client may send stdin before the container
// starts) until EOF; chunks wait in ch.
type clientInput struct {
	ch  chan []byte
	err error // after ch is closed: nil at EOF
}

func readClient(r io.Reader) *clientInput {
	in := &clientInput{ch: make(chan []byte, 64)}
	go func() {
		defer close(in.ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := r.Read(buf)
			if n > 0 {
				in.ch <- buf[:n]
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					in.err = err
				}
				return
			}
		}
	}()
	return in
}

// pumpOptions select what a pump relays.
type pumpOptions struct {
	tty, stdin, stdout, stderr bool
	detachKeys                 []byte
}

// pump relays a monitor stream f (package stream's frames) to and from a
// hijacked client connection, docker's way: raw output with a TTY,
// stdcopy frames without; the client's bytes as stdin and its half-close
// as the end of stdin; the detach keys end the attach without touching the
// payload. It returns the exit code when the stream carried one; the
// caller closes conn (with closeConn) once it has recorded the end, so a
// client that reads to the end of the stream and then asks (docker exec
// inspects the exec for its exit code) finds it recorded.
func pump(conn net.Conn, in *clientInput, f *os.File, o pumpOptions) (code int, exited bool) {
	fw := stream.NewWriter(f)
	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	// A client that is gone while the payload says nothing would hold
	// the stream, and berthd, forever.
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if hungUp(conn) {
					finish()
					return
				}
			}
		}
	}()
	go func() {
		var matched int
		for {
			select {
			case <-done:
				return
			case b, ok := <-in.ch:
				if !ok {
					if in.err != nil {
						finish() // the client went away
					} else if o.stdin {
						fw.Write(stream.CloseStdin, nil)
					}
					return
				}
				if !o.stdin {
					continue
				}
				if len(o.detachKeys) > 0 {
					var out []byte
					for _, c := range b {
						if c == o.detachKeys[matched] {
							matched++
							if matched == len(o.detachKeys) {
								finish()
								return
							}
							continue
						}
						if matched > 0 {
							out = append(out, o.detachKeys[:matched]...)
							matched = 0
						}
						if c == o.detachKeys[0] {
							matched = 1
							continue
						}
						out = append(out, c)
					}
					b = out
				}
				if len(b) > 0 {
					if err := fw.Write(stream.Stdin, b); err != nil {
						finish()
						return
					}
				}
			}
		}
	}()
	go func() {
		<-done
		f.Close() // ends the read below
	}()
	var stdout, stderr io.Writer = conn, conn
	if !o.tty {
		stdout = newStdWriter(conn, stdcopy.Stdout)
		stderr = newStdWriter(conn, stdcopy.Stderr)
	}
	for {
		k, p, err := stream.Read(f)
		if err != nil {
			break
		}
		var werr error
		switch k {
		case stream.Stdout:
			if o.stdout {
				_, werr = stdout.Write(p)
			}
		case stream.Stderr:
			if o.stderr {
				_, werr = stderr.Write(p)
			}
		case stream.Exit:
			if c, err := stream.Int(p); err == nil {
				code, exited = int(c), true
			}
		case stream.Error:
			_, werr = stderr.Write(append(p, '\n'))
		}
		if werr != nil || k == stream.Exit || k == stream.Error {
			break
		}
	}
	finish()
	return code, exited
}

// hungUp reports whether the client closed its connection for good (both
// directions: POLLHUP), not only its sending side (a half-close, the end
// of stdin).
func hungUp(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	hup := false
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			hup = fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return hup
}

// closeConn ends the output side first, so a client that half-closed
// reads everything, then the connection.
func closeConn(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.Close()
}

// parseDetachKeys reads docker's --detach-keys form: comma-separated
// single characters or ctrl-<char> (ctrl-a … ctrl-z, ctrl-@, ctrl-[,
// ctrl-\, ctrl-], ctrl-^, ctrl-_). Empty means docker's default,
// ctrl-p,ctrl-q.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = "ctrl-p,ctrl-q"
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if c, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-"); ok && len(c) == 1 {
			switch ch := c[0]; {
			case ch >= 'a' && ch <= 'z':
				out = append(out, ch-'a'+1)
			case ch == '@':
				out = append(out, 0)
			case ch >= '[' && ch <= '_':
				out = append(out, ch-'['+27)
			default:
				return nil, fmt.Errorf("invalid detach keys %q: unknown character %q after ctrl-: %w", s, c, errdefs.ErrInvalidArgument)
			}
			continue
		}
		if len(k) != 1 {
			return nil, fmt.Errorf("invalid detach keys %q: %q is neither one character nor ctrl-<character>: %w", s, k, errdefs.ErrInvalidArgument)
		}
		out = append(out, k[0])
	}
	return out, nil
}

// containerAttach is POST /containers/{id}/attach (hijacked). A container
// that is not running yet is attached to when it starts, and its start
// holds the payload's output until then (the docker CLI attaches before
// it starts a foreground run).
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if boolValue(r, "logs") {
		return fmt.Errorf("attach with logs is not supported by berth: read them with GET /containers/{id}/logs: %w", errdefs.ErrInvalidArgument)
	}
	keys, err := parseDetachKeys(r.URL.Query().Get("detachKeys"))
	if err != nil {
		return err
	}
	o := pumpOptions{tty: info.Spec.TTY, stdin: boolValue(r, "stdin") && info.Spec.Stdin,
		stdout: boolValue(r, "stdout"), stderr: boolValue(r, "stderr")}
	if o.tty && o.stdin {
		o.detachKeys = keys // as docker: on a terminal only, never in piped binary input
	}
	if !boolValue(r, "stream") && !o.stdin {
		// Without stream (and without logs) docker answers at once.
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.mu.Lock()
	s.attaching[info.ID]++
	s.mu.Unlock()
	pending := true
	unpend := func() {
		if pending {
			pending = false
			s.mu.Lock()
			if s.attaching[info.ID]--; s.attaching[info.ID] <= 0 {
				delete(s.attaching, info.ID)
			}
			s.mu.Unlock()
		}
	}
	defer unpend()
	wt, done := s.watch(info.ID)
	defer done()
	conn, rw, err := hijack(w, r, o.tty)
	if err != nil {
		return err
	}
	in := readClient(rw)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	f, err := s.attachWhenLive(ctx, wt, info.ID, o.stdin, in, conn)
	unpend()
	if err != nil {
		s.mu.Lock()
		delete(s.sizes, info.ID)
		s.mu.Unlock()
		if !errdefs.IsNotFound(err) {
			// A container removed meanwhile (a --rm run whose start
			// failed) ends the attach quietly, as docker's.
			writeStreamError(conn, o.tty, err)
		}
		closeConn(conn)
		return nil
	}
	ts := s.openTTY(info.ID, f)
	defer s.closeTTY(info.ID, ts)
	pump(conn, in, f, o)
	closeConn(conn)
	return nil
}

// openTTY registers an open attach or exec stream for resize requests
// under key and sends it the size asked for while it was being opened.
func (s *Server) openTTY(key string, f *os.File) *ttyStream {
	ts := &ttyStream{w: stream.NewWriter(f)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttys[key] = ts
	if sz, ok := s.sizes[key]; ok {
		delete(s.sizes, key)
		ts.w.Write(stream.Resize, stream.ResizePayload(sz[0], sz[1]))
	}
	return ts
}

func (s *Server) closeTTY(key string, ts *ttyStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ttys[key] == ts {
		delete(s.ttys, key)
	}
	delete(s.sizes, key)
}

// attachWhenLive attaches to the container once it runs: at once if it
// does, else at its next start. It gives up when the container is removed
// or the client goes away.
func (s *Server) attachWhenLive(ctx context.Context, wt *waiter, id string, stdin bool, in *clientInput, conn net.Conn) (*os.File, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		info, err := s.Manager.Get(id)
		if err != nil {
			return nil, containerError(id, err)
		}
		if info.State == lifecycle.Running || info.State == lifecycle.Paused {
			f, err := s.Manager.Attach(ctx, id, stdin)
			if err == nil || !errdefs.IsFailedPrecondition(err) && !errdefs.IsConflict(err) {
				return f, err
			}
			// It stopped meanwhile: wait for the next start.
		}
		select {
		case <-wt.ch:
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if in.err != nil {
			return nil, in.err
		}
		if hungUp(conn) {
			return nil, fmt.Errorf("the client went away")
		}
	}
}

// writeStreamError tells a hijacked client why its stream ends.
func writeStreamError(conn net.Conn, tty bool, err error) {
	msg := []byte(errorMessage(err) + "\n")
	if tty {
		conn.Write(msg)
		return
	}
	newStdWriter(conn, stdcopy.Stderr).Write(msg)
}

// containerResize is POST /containers/{id}/resize: the TTY's new size goes
// to the monitor through an open attach stream; an attach that is being
// opened gets it when it is; without one (docker run -d -t), through an
// attach of its own for the moment of the resize.
func (s *Server) containerResize(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	return s.resize(w, r, info.ID, info.State.Live(), func(h, wd uint16) error {
		f, err := s.Manager.Attach(r.Context(), info.ID, false)
		if err != nil {
			return containerError(ref, err)
		}
		defer f.Close()
		return stream.NewWriter(f).Write(stream.Resize, stream.ResizePayload(h, wd))
	})
}

// resize sends a terminal size to the open stream of key, keeps it for a
// stream being opened (an attach waiting for the start, an exec being
// started), or else hands it to direct (nil: nothing to resize).
func (s *Server) resize(w http.ResponseWriter, r *http.Request, key string, live bool, direct func(h, w uint16) error) error {
	h, err := intValue(r, "h", 0)
	if err != nil {
		return err
	}
	wd, err := intValue(r, "w", 0)
	if err != nil {
		return err
	}
	if h < 0 || wd < 0 || h > 0xffff || wd > 0xffff {
		return fmt.Errorf("invalid terminal size %dx%d: want 0..65535: %w", h, wd, errdefs.ErrInvalidArgument)
	}
	if !live {
		return fmt.Errorf("cannot resize: %s is not running: %w", key, errdefs.ErrConflict)
	}
	if h == 0 || wd == 0 {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.mu.Lock()
	ts := s.ttys[key]
	keep := ts == nil && (s.attaching[key] > 0 || direct == nil)
	if ts != nil {
		ts.w.Write(stream.Resize, stream.ResizePayload(uint16(h), uint16(wd)))
	} else if keep {
		s.sizes[key] = [2]uint16{uint16(h), uint16(wd)}
	}
	s.mu.Unlock()
	if ts == nil && !keep {
		if err := direct(uint16(h), uint16(wd)); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerLogs is GET /containers/{id}/logs: follow, stdout, stderr,
// since, until (Unix seconds with an optional fraction), timestamps, tail
// ("all" or N). Without a TTY the lines come in stdcopy frames.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	stdout, stderr := boolValue(r, "stdout"), boolValue(r, "stderr")
	if !stdout && !stderr {
		return fmt.Errorf("Bad parameters: you must choose at least one stream: %w", errdefs.ErrInvalidArgument)
	}
	o := logs.Options{Tail: -1, Follow: boolValue(r, "follow"), Timestamps: boolValue(r, "timestamps")}
	if t := r.URL.Query().Get("tail"); t != "" && t != "all" {
		n, err := intValue(r, "tail", -1)
		if err != nil {
			return err
		}
		if n >= 0 {
			o.Tail = int(n)
		}
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"since", &o.Since}, {"until", &o.Until}} {
		v := r.URL.Query().Get(b.name)
		if v == "" || v == "0" {
			continue
		}
		t, err := parseUnixTime(v)
		if err != nil {
			return fmt.Errorf("invalid value for %s: %q: %v: %w", b.name, v, err, errdefs.ErrInvalidArgument)
		}
		*b.t = t
	}
	lf, err := s.Manager.Logs(r.Context(), info.ID, o, s.Idle.Begin())
	if err != nil {
		return containerError(ref, err)
	}
	// The core's end is a blocking socket, and closing a blocking file
	// does not end a Read in progress: as a net.Conn the runtime poller
	// serves it, so the Close at the client's hang-up ends the wait for
	// a quiet container's next line (and with it the stream).
	f, err := net.FileConn(lf)
	lf.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	media := types.MediaTypeMultiplexedStream
	if info.Spec.TTY {
		media = types.MediaTypeRawStream
	}
	w.Header().Set("Content-Type", media)
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	go func() {
		<-r.Context().Done()
		f.Close()
	}()
	var out, errw io.Writer = w, w
	if !info.Spec.TTY {
		out = newStdWriter(w, stdcopy.Stdout)
		errw = newStdWriter(w, stdcopy.Stderr)
	}
	for {
		k, p, err := stream.Read(f)
		if err != nil {
			return nil
		}
		var werr error
		switch k {
		case stream.Stdout:
			if stdout {
				_, werr = out.Write(p)
			}
		case stream.Stderr:
			if stderr {
				_, werr = errw.Write(p)
			}
		case stream.Error:
			_, werr = errw.Write(append(p, '\n'))
		}
		if werr != nil {
			return nil
		}
		if fl != nil && o.Follow {
			fl.Flush()
		}
	}
}

// parseUnixTime reads docker's since/until values: Unix seconds with an
// optional fraction of up to nine digits.
func parseUnixTime(v string) (time.Time, error) {
	sec, frac, _ := strings.Cut(v, ".")
	var s, ns int64
	if _, err := fmt.Sscanf(sec, "%d", &s); err != nil {
		return time.Time{}, err
	}
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		if _, err := fmt.Sscanf(frac, "%d", &ns); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(s, ns), nil
}

// stdWriter writes docker's multiplexed stream frames (the format that
// stdcopy.StdCopy reads): an 8-byte header of the stream type, three
// zero bytes and the big-endian payload length, then the payload.
type stdWriter struct {
	w io.Writer
	t stdcopy.StdType
}

func newStdWriter(w io.Writer, t stdcopy.StdType) io.Writer { return &stdWriter{w: w, t: t} }

func (s *stdWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	buf := make([]byte, 8+len(p))
	buf[0] = byte(s.t)
	binary.BigEndian.PutUint32(buf[4:8], uint32(len(p)))
	copy(buf[8:], p)
	if _, err := s.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
