package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/ocispec"
	"github.com/berthd/berth/systemd"
	"github.com/containerd/errdefs"
)

// DefaultStopTimeout is the time between the stop signal and SIGKILL.
const DefaultStopTimeout = 10

// scopes is what the manager needs from systemd.
type scopes interface {
	StartScope(ctx context.Context, s systemd.Scope) error
	ControlGroup(ctx context.Context, name string) (string, error)
	ActiveState(ctx context.Context, name string) (string, error)
	WaitGone(ctx context.Context, name string) error
}

// EventKind tells what changed.
type EventKind int

// The kinds of change a Manager reports.
const (
	EventNew EventKind = iota
	EventChanged
	EventRemoved
)

// Event is a change to one container.
type Event struct {
	Kind EventKind
	Info Info
}

// Manager owns all containers of one data-root/exec-root pair.
type Manager struct {
	dataRoot, execRoot string
	units              scopes
	log                *slog.Logger
	images             *images.Store
	monitorPath        string
	bootID             string
	events             func(Event)

	mu         sync.Mutex
	containers map[string]*container
	names      map[string]string
	reserved   map[string]bool // names of containers being created

	notifyConn *net.UnixConn
}

// container is one container. rec.ID, rec.Name and rec.Spec never change
// once the container is visible, so they may be read without mu.
type container struct {
	mu     sync.Mutex
	rec    Record
	exited chan struct{} // closed when the current run has ended
	gone   bool          // removed

	// busy is set while a transition (start, pause, unpause, remove)
	// does its slow work without mu, and closed when it has committed or
	// given up; busyOp names it. Operations that change the state wait
	// for it (lockIdle); readers never do.
	busy   chan struct{}
	busyOp Op
	// pending is the run a start is launching; an exit of that run that
	// arrives before the start commits is kept in early and applied then.
	pending *Run
	early   *contract.Exit
}

// lockIdle waits until no transition runs on c and returns with c.mu
// held, or with ctx's error and c.mu not held.
func (c *container) lockIdle(ctx context.Context) error {
	for {
		c.mu.Lock()
		b, op := c.busy, c.busyOp
		if b == nil {
			return nil
		}
		c.mu.Unlock()
		select {
		case <-b:
		case <-ctx.Done():
			return fmt.Errorf("container %s: still busy with %s: %w", c.rec.Name, op, ctx.Err())
		}
	}
}

// begin marks a transition; c.mu must be held and c idle (lockIdle).
func (c *container) begin(op Op) {
	c.busy = make(chan struct{})
	c.busyOp = op
}

// end ends the transition begun with begin; c.mu must be held.
func (c *container) end() {
	close(c.busy)
	c.busy = nil
}

func (c *container) info() Info {
	r := c.rec
	r.Spec.Cmd = append([]string(nil), r.Spec.Cmd...)
	r.Spec.Entrypoint = append([]string(nil), r.Spec.Entrypoint...)
	r.Spec.Layers = append([]string(nil), r.Spec.Layers...)
	r.Spec.Env = append([]string(nil), r.Spec.Env...)
	if r.Run != nil {
		run := *r.Run
		r.Run = &run
	}
	return Info{Record: r}
}

// Options configure a Manager.
type Options struct {
	DataRoot    string
	ExecRoot    string
	MonitorPath string
	Units       scopes
	Images      *images.Store // nil: containers from root file-system directories only
	Log         *slog.Logger
	// Events is called, without locks held, for every change.
	Events func(Event)
}

// New returns a Manager; call Load before use.
func New(o Options) *Manager {
	ev := o.Events
	if ev == nil {
		ev = func(Event) {}
	}
	return &Manager{
		dataRoot: o.DataRoot, execRoot: o.ExecRoot, units: o.Units, log: o.Log, images: o.Images,
		monitorPath: o.MonitorPath, bootID: systemd.BootID(), events: ev,
		containers: map[string]*container{}, names: map[string]string{}, reserved: map[string]bool{},
	}
}

func (m *Manager) containerDir(id string) string { return filepath.Join(m.dataRoot, "containers", id) }
func (m *Manager) runDir(id string) string       { return filepath.Join(m.execRoot, "containers", id) }
func (m *Manager) notifyPath() string            { return filepath.Join(m.execRoot, "notify.sock") }

// LogPath is the local log of the container with full id id (package
// logfile); it need not exist.
func (m *Manager) LogPath(id string) string { return logfile.Path(m.containerDir(id)) }

// Load creates the directories, reads every record and reconciles it with
// exit records and systemd, and starts listening for monitors' exit
// notices. It returns the number of containers whose state changed.
func (m *Manager) Load(ctx context.Context) (int, error) {
	// For root only (records, runtime state); existing ones are tightened.
	for _, d := range []string{filepath.Join(m.dataRoot, "containers"), filepath.Join(m.execRoot, "containers"), filepath.Join(m.execRoot, "runc")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return 0, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return 0, err
		}
	}
	ents, err := os.ReadDir(filepath.Join(m.dataRoot, "containers"))
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, e := range ents {
		id := e.Name()
		b, err := os.ReadFile(filepath.Join(m.containerDir(id), "container.json"))
		if errors.Is(err, os.ErrNotExist) {
			// A create that died before its record was written.
			os.RemoveAll(m.containerDir(id))
			continue
		}
		if err != nil {
			return 0, err
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			m.log.Error("unreadable container record, skipped", "container", id, "err", err)
			continue
		}
		if rec.Version > RecordVersion {
			m.log.Error("container record from a newer berthd, skipped", "container", id, "version", rec.Version)
			continue
		}
		c := &container{rec: rec, exited: make(chan struct{})}
		if !rec.State.Live() {
			close(c.exited)
		}
		m.containers[id] = c
		m.names[rec.Name] = id
		if m.reconcile(ctx, c) {
			changed++
		}
	}
	if err := m.listenNotify(); err != nil {
		return changed, err
	}
	go m.poll(ctx)
	return changed, nil
}

// reconcile brings a live record in line with its exit record and with
// systemd. It reports whether the state changed.
func (m *Manager) reconcile(ctx context.Context, c *container) bool {
	c.mu.Lock()
	if !c.rec.State.Live() || c.rec.Run == nil {
		c.mu.Unlock()
		return false
	}
	id := c.rec.ID
	run := *c.rec.Run
	c.mu.Unlock()
	if ex, err := contract.ReadExit(m.containerDir(id)); err == nil && ex.RunID == run.ID {
		m.recordExit(id, *ex)
		return true
	}
	lost := run.BootID != m.bootID
	if !lost {
		st, err := m.units.ActiveState(ctx, run.Unit)
		if err != nil {
			return false
		}
		lost = st == "" || st == "inactive" || st == "failed"
		if lost {
			// The monitor may have written its record just now.
			if ex, err := contract.ReadExit(m.containerDir(id)); err == nil && ex.RunID == run.ID {
				m.recordExit(id, *ex)
				return true
			}
		}
	}
	if lost {
		m.recordExit(id, contract.Exit{ID: id, RunID: run.ID, ExitCode: 255, FinishedAt: time.Now().UTC()})
		return true
	}
	return false
}

// listenNotify receives exit notices from monitors.
func (m *Manager) listenNotify() error {
	p := m.notifyPath()
	os.Remove(p)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		c.Close()
		return fmt.Errorf("notify socket: %w", err)
	}
	m.notifyConn = c
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			var ex contract.Exit
			if json.Unmarshal(buf[:n], &ex) == nil && ex.ID != "" {
				m.recordExit(ex.ID, ex)
			}
		}
	}()
	return nil
}

// poll catches exits whose notice was lost (berthd was busy restarting).
func (m *Manager) poll(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range m.all() {
			c.mu.Lock()
			live := c.rec.State.Live() && c.rec.Run != nil
			c.mu.Unlock()
			if live {
				m.reconcile(ctx, c)
			}
		}
	}
}

// Close stops listening for notices.
func (m *Manager) Close() {
	if m.notifyConn != nil {
		m.notifyConn.Close()
	}
}

func (m *Manager) all() []*container {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*container, 0, len(m.containers))
	for _, c := range m.containers {
		out = append(out, c)
	}
	return out
}

// recordExit applies an exit record to the run it belongs to.
func (m *Manager) recordExit(id string, ex contract.Exit) {
	m.mu.Lock()
	c := m.containers[id]
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.pending != nil && c.pending.ID == ex.RunID {
		// The run's start has not committed yet: it applies this.
		c.early = &ex
		c.mu.Unlock()
		return
	}
	if !c.rec.State.Live() || c.rec.Run == nil || c.rec.Run.ID != ex.RunID {
		c.mu.Unlock()
		return
	}
	c.rec.State = Exited
	c.rec.ExitCode = ex.ExitCode
	c.rec.FinishedAt = ex.FinishedAt
	c.rec.Pid = 0
	close(c.exited)
	removed := ex.Removed || c.rec.Spec.AutoRemove
	if removed {
		c.gone = true
	} else if err := m.save(c); err != nil {
		m.log.Error("cannot save container record", "container", id, "err", err)
	}
	info := c.info()
	c.mu.Unlock()
	m.log.Info("container exited", "container", id, "exit_code", ex.ExitCode)
	m.event(events.Died, info, events.ExitCode(ex.ExitCode))
	m.events(Event{Kind: EventChanged, Info: info})
	if removed {
		m.event(events.Removed, info)
		m.forget(id)
		m.events(Event{Kind: EventRemoved, Info: info})
		// The monitor removes the directories once it is done with the
		// runtime; after a lost monitor, do it here, but only once the
		// scope (so the monitor) is gone.
		unit := info.Unit()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			m.units.WaitGone(ctx, unit)
			unmountRootfs(m.containerDir(id))
			os.RemoveAll(m.containerDir(id))
			os.RemoveAll(m.runDir(id))
		}()
	}
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	if c, ok := m.containers[id]; ok {
		delete(m.names, c.rec.Name)
		delete(m.containers, id)
	}
	m.mu.Unlock()
}

// save writes the record; c.mu must be held.
func (m *Manager) save(c *container) error {
	c.rec.Version = RecordVersion
	return atomicfile.WriteJSON(filepath.Join(m.containerDir(c.rec.ID), "container.json"), c.rec, 0o600)
}

// lookup resolves a full id, a name or a unique id prefix.
func (m *Manager) lookup(ref string) (*container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ref == "" {
		return nil, fmt.Errorf("no container given: %w", errdefs.ErrInvalidArgument)
	}
	if c, ok := m.containers[ref]; ok {
		return c, nil
	}
	if id, ok := m.names[ref]; ok {
		return m.containers[id], nil
	}
	var found *container
	for id, c := range m.containers {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("container %q: the id prefix is ambiguous: %w", ref, errdefs.ErrInvalidArgument)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
	}
	return found, nil
}

// Get returns a container by id, name or unique id prefix.
func (m *Manager) Get(ref string) (Info, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info(), nil
}

// List returns every container, oldest first.
func (m *Manager) List() []Info {
	cs := m.all()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		c.mu.Lock()
		out = append(out, c.info())
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// RuntimePathsInUse lists the runtime paths (binaries or wrappers) that
// containers in state created, running, paused or restarting recorded for
// their current run: the wrappers that must not be removed.
func (m *Manager) RuntimePathsInUse() map[string]bool {
	used := map[string]bool{}
	for _, i := range m.List() {
		if i.Run != nil && (i.State == Created || i.State.Live()) {
			used[i.Run.RuntimePath] = true
		}
	}
	return used
}

// CountContainers returns how many container records exist under dataRoot.
func CountContainers(dataRoot string) (int, error) {
	ents, err := os.ReadDir(filepath.Join(dataRoot, "containers"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return len(ents), err
}

// Create validates spec and records a new container in state created.
// name may be empty (a name is made up). Nothing is left behind on error.
func (m *Manager) Create(ctx context.Context, snap *config.Snapshot, name string, spec Spec) (Info, error) {
	if err := checkSpec(&spec); err != nil {
		return Info{}, err
	}
	if err := CheckName(name); err != nil {
		return Info{}, err
	}
	fromImage := spec.Rootfs == ""
	if fromImage {
		if spec.Image == "" {
			return Info{}, fmt.Errorf("give an image or a root file-system directory: %w", errdefs.ErrInvalidArgument)
		}
		if err := m.applyImage(ctx, &spec); err != nil {
			return Info{}, err
		}
	} else if err := m.validate(snap, &spec); err != nil {
		return Info{}, err
	}
	idb := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return Info{}, err
	}
	id := hex.EncodeToString(idb)
	if name == "" {
		name = "berth_" + id[:12]
	}
	if !config.NameRE.MatchString(name) {
		return Info{}, fmt.Errorf("container name %q: must match %s: %w", name, config.NameRE, errdefs.ErrInvalidArgument)
	}
	m.mu.Lock()
	if other, ok := m.names[name]; ok {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("container name %q is already in use by %s: %w", name, other[:12], errs.NameInUse)
	}
	if m.reserved[name] {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("container name %q is already in use by a container being created: %w", name, errdefs.ErrAlreadyExists)
	}
	m.reserved[name] = true
	m.mu.Unlock()
	unreserve := func() {
		m.mu.Lock()
		delete(m.reserved, name)
		m.mu.Unlock()
	}

	// The record is complete and on disk before anyone can see it.
	rec := Record{ID: id, Name: name, CreatedAt: time.Now().UTC(), Spec: spec, State: Created, Version: RecordVersion}
	dir := m.containerDir(id)
	err := os.Mkdir(dir, 0o700)
	if err == nil && fromImage {
		// The container's own layer, mounted now so that the user and
		// working directory are checked against the image's files.
		if err = mountRootfs(dir, spec.Layers); err == nil {
			rec.Spec.Rootfs = rootfsDir(dir)
			err = m.validate(snap, &rec.Spec)
		}
	}
	if err == nil {
		err = atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec, 0o600)
	}
	if err != nil {
		unreserve()
		unmountRootfs(dir)
		os.RemoveAll(dir)
		if errdefs.IsInvalidArgument(err) {
			return Info{}, err
		}
		return Info{}, fmt.Errorf("create container %q: %w", name, err)
	}
	c := &container{rec: rec, exited: make(chan struct{})}
	close(c.exited)
	info := c.info()
	m.mu.Lock()
	delete(m.reserved, name)
	m.names[name] = id
	m.containers[id] = c
	m.mu.Unlock()
	m.event(events.Created, info)
	m.events(Event{Kind: EventNew, Info: info})
	return info, nil
}

func (m *Manager) validate(snap *config.Snapshot, spec *Spec) error {
	if len(spec.Entrypoint)+len(spec.Cmd) == 0 {
		return fmt.Errorf("no command given (and the image has none): %w", errdefs.ErrInvalidArgument)
	}
	if spec.Network == "" {
		spec.Network = snap.DefaultNetwork
	}
	if spec.Network != "none" && spec.Network != "host" {
		return fmt.Errorf("network %q: want none or host: %w", spec.Network, errdefs.ErrInvalidArgument)
	}
	if spec.Network == "host" && spec.Hostname != "" {
		// The host's UTS namespace is shared: the runtime cannot set one.
		return fmt.Errorf("hostname %q: conflicts with network host: %w", spec.Hostname, errdefs.ErrInvalidArgument)
	}
	if spec.Runtime == "" {
		spec.Runtime = snap.DefaultRuntime
	}
	if _, _, err := snap.RuntimePath(spec.Runtime); err != nil {
		return fmt.Errorf("%w (%w)", err, errdefs.ErrInvalidArgument)
	}
	// Again: the image may have added environment, a command or a stop
	// signal.
	if err := checkSpec(spec); err != nil {
		return err
	}
	// The spec is built at each start; checking its options now refuses a
	// missing root file system or an unknown user before anything exists.
	return ocispec.Validate(specOptions(spec, ""))
}
