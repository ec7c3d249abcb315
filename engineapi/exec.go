package engineapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/stream"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// maxExecs bounds the exec records kept; the oldest finished ones go
// first (docker keeps them until the container goes).
const maxExecs = 1024

// execRecord is one exec instance: created by POST /containers/{id}/exec,
// run by POST /exec/{id}/start, read by GET /exec/{id}/json. Exec records
// live in berthd's memory only, as dockerd's.
type execRecord struct {
	id, container string
	req           container.ExecCreateRequest
	created       time.Time
	started       bool
	running       bool
	exitCode      *int
	ended         time.Time
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) execRoutes() {
	s.handle("POST /containers/{id}/exec", s.execCreate)
	s.handle("POST /exec/{id}/start", s.execStart)
	s.handle("POST /exec/{id}/resize", s.execResize)
	s.handle("GET /exec/{id}/json", s.execInspect)
}

func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	// Clients before API 1.51's types send Detach here too; it means
	// nothing at create (docker ignores it as well). docker-py repeats
	// the path's container as Container (docker's old ExecConfig).
	var body struct {
		container.ExecCreateRequest
		Detach    bool
		Container string
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Container != "" && body.Container != ref {
		return fmt.Errorf("Container %q: the exec's container is the path's, %q: %w", body.Container, ref, errdefs.ErrInvalidArgument)
	}
	req := body.ExecCreateRequest
	if len(req.Cmd) == 0 {
		return fmt.Errorf("No exec command specified: %w", errdefs.ErrInvalidArgument)
	}
	if req.Privileged {
		return fmt.Errorf("Privileged: a privileged exec is not supported by berth: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := parseDetachKeys(req.DetachKeys); err != nil {
		return err
	}
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if !info.State.Live() {
		return fmt.Errorf("container %s is not running: %w", info.ID, errdefs.ErrConflict)
	}
	if info.State == lifecycle.Paused {
		return fmt.Errorf("container %s is paused, unpause the container before exec: %w", info.ID, errdefs.ErrConflict)
	}
	e := &execRecord{id: newID(), container: info.ID, req: req, created: time.Now()}
	s.mu.Lock()
	s.trimExecs()
	s.execs[e.id] = e
	s.mu.Unlock()
	return writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: e.id})
}

// trimExecs drops the oldest finished records above maxExecs; s.mu is
// held.
func (s *Server) trimExecs() {
	for len(s.execs) >= maxExecs {
		var oldest *execRecord
		for _, e := range s.execs {
			if !e.running && (oldest == nil || e.created.Before(oldest.created)) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		delete(s.execs, oldest.id)
	}
}

func (s *Server) execByID(id string) (*execRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[id]
	if !ok {
		return nil, fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
	}
	return e, nil
}

// execIDs are the exec instances of a container that berthd knows
// (inspect's ExecIDs: null when none, as docker), sorted.
func (s *Server) execIDs(containerID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.execs {
		if e.container == containerID {
			ids = append(ids, e.id)
		}
	}
	sort.Strings(ids)
	return ids
}

// execStart is POST /exec/{id}/start: hijacked unless Detach.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	e, err := s.execByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	s.mu.Lock()
	if e.started {
		s.mu.Unlock()
		return fmt.Errorf("Error: Exec command %s has already run: %w", e.id, errdefs.ErrConflict)
	}
	e.started, e.running = true, true
	s.mu.Unlock()
	o := lifecycle.ExecOptions{Cmd: e.req.Cmd, Env: e.req.Env, Workdir: e.req.WorkingDir, User: e.req.User,
		TTY: e.req.Tty, Stdin: e.req.AttachStdin && !req.Detach}
	if cs := req.ConsoleSize; cs != nil {
		o.ConsoleSize = *cs
	} else if cs := e.req.ConsoleSize; cs != nil {
		o.ConsoleSize = *cs
	}
	finish := func(code int) {
		s.mu.Lock()
		e.running = false
		e.exitCode = &code
		e.ended = time.Now()
		s.mu.Unlock()
	}
	if req.Detach {
		f, err := s.Manager.Exec(r.Context(), e.container, o)
		if err != nil {
			finish(execFailureCode(err))
			return containerError(e.container, err)
		}
		// The process runs on; its exit code is read from the stream,
		// which keeps berthd busy until then.
		end := s.Idle.Begin()
		go func() {
			defer end()
			defer f.Close()
			finish(drainExit(f))
			s.closeTTY(e.id, nil) // a size kept for it goes
		}()
		w.WriteHeader(http.StatusOK)
		return nil
	}
	keys, _ := parseDetachKeys(e.req.DetachKeys)
	po := pumpOptions{tty: e.req.Tty, stdin: o.Stdin, stdout: e.req.AttachStdout, stderr: e.req.AttachStderr}
	if po.tty && po.stdin {
		po.detachKeys = keys
	}
	conn, rw, err := hijack(w, r, e.req.Tty)
	if err != nil {
		finish(126)
		return err
	}
	in := readClient(rw)
	f, err := s.Manager.Exec(context.WithoutCancel(r.Context()), e.container, o)
	if err != nil {
		finish(execFailureCode(err))
		s.closeTTY(e.id, nil) // a size kept for it goes
		writeStreamError(conn, e.req.Tty, err)
		closeConn(conn)
		return nil
	}
	ts := s.openTTY(e.id, f)
	code, exited := pump(conn, in, f, po)
	defer closeConn(conn)
	s.closeTTY(e.id, ts)
	if !exited {
		// The client detached or left before the process ended; with
		// the stream closed its exit code is not known here.
		s.mu.Lock()
		e.running = false
		e.ended = time.Now()
		s.mu.Unlock()
		return nil
	}
	finish(code)
	return nil
}

// execFailureCode is docker's exit code of an exec that did not start:
// 127 for a missing command, 126 for one that cannot run.
func execFailureCode(err error) int {
	switch {
	case errors.Is(err, errs.CommandNotFound):
		return 127
	case errors.Is(err, errs.CommandNotExecutable):
		return 126
	}
	return 126
}

// drainExit reads a stream to its end and returns the exit code it
// carried (-1 without one).
func drainExit(f io.Reader) int {
	for {
		k, p, err := stream.Read(f)
		if err != nil {
			return -1
		}
		if k == stream.Exit {
			if c, err := stream.Int(p); err == nil {
				return int(c)
			}
			return -1
		}
	}
}

func (s *Server) execResize(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	s.mu.Lock()
	running := e.running
	s.mu.Unlock()
	return s.resize(w, r, e.id, running, nil)
}

func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execByID(r.PathValue("id"))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := container.ExecInspectResponse{
		ID: e.id, Running: e.running, ExitCode: e.exitCode, ContainerID: e.container,
		OpenStdin: e.req.AttachStdin, OpenStdout: e.req.AttachStdout, OpenStderr: e.req.AttachStderr,
		CanRemove: !e.running && e.started,
		ProcessConfig: &container.ExecProcessConfig{
			Tty: e.req.Tty, Entrypoint: e.req.Cmd[0], Arguments: append([]string{}, e.req.Cmd[1:]...), User: e.req.User,
		},
	}
	return writeJSON(w, http.StatusOK, v)
}
