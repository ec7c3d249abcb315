package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/ocispec"
	"github.com/berthd/berth/systemd"
	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// DefaultStopTimeout is the time between the stop signal and SIGKILL.
const DefaultStopTimeout = 10

// scopes is what the manager needs from systemd.
type scopes interface {
	StartScope(ctx context.Context, s systemd.Scope) error
	ControlGroup(ctx context.Context, name string) (string, error)
	ActiveState(ctx context.Context, name string) (string, error)
	WaitGone(ctx context.Context, name string) error
	// UnitStates lists the ActiveState of the loaded units matching
	// patterns in one call.
	UnitStates(ctx context.Context, patterns ...string) (map[string]string, error)
	KillUnit(ctx context.Context, name string, signal unix.Signal) error
	StopUnit(ctx context.Context, name string) error
	SetLimits(ctx context.Context, name string, l systemd.Limits) error
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
	volumes            *volumes.Store
	net                *network.Manager
	hold               func() (end func())
	snapshot           func() *config.Snapshot
	monitorPath        string
	bootID             string
	events             func(Event)

	// ready is closed once Load has read every record (loadErr says
	// whether it could); every lookup waits for it.
	ready   chan struct{}
	loadErr error

	mu         sync.Mutex
	containers map[string]*container
	names      map[string]string
	reserved   map[string]bool // names of containers being created

	notifyConn *net.UnixConn // guarded by mu
	closed     bool

	// statsPrev is each container's last Stats reading (for precpu).
	statsMu   sync.Mutex
	statsPrev map[string]statsPrev
}

// container is one container. rec.ID and rec.Spec never change once the
// container is visible, so they may be read without mu. rec.Name changes
// only in Rename, which holds both mu and Manager.mu (in that order): read
// it under either.
type container struct {
	mu     sync.Mutex
	rec    Record
	exited chan struct{} // closed when the current run has ended
	// attempt is closed (and replaced) when an attempt of the current run
	// ends and its restart policy restarts it; nil until then.
	attempt chan struct{}
	gone    bool // removed

	// busy is set while a transition (start, pause, unpause, remove)
	// does its slow work without mu, and closed when it has committed or
	// given up; busyOp names it. Operations that change the state wait
	// for it (lockIdle); readers never do.
	busy   chan struct{}
	busyOp Op
	// restarts serialises Restart's stop and start, so that concurrent
	// restarts each stop and start the container in turn (as docker's),
	// not race into "cannot start a running container".
	restarts sync.Mutex
	// early is an exit of rec.Next (the run a start is launching) that
	// arrived before the start committed; the start applies it.
	early *contract.Exit
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

// current reports whether run is still the container's live run; c.mu
// must be held. Every run of a container shares its scope's name and its
// runtime id, so anything that kills the scope or deletes the runtime's
// state for a run must check this first, under a transition of its own,
// or it would end the container's next run.
func (c *container) current(run Run) bool {
	return c.rec.State.Live() && c.rec.Run != nil && c.rec.Run.ID == run.ID && c.rec.Run.Seq == run.Seq
}

// claim begins a transition op on c if no transition is under way and
// run is still its live run; it reports whether it did (release ends it).
func (c *container) claim(run Run, op Op) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != nil || !c.current(run) {
		return false
	}
	c.begin(op)
	return true
}

// release ends a transition begun by claim or begin, taking c.mu.
func (c *container) release() {
	c.mu.Lock()
	c.end()
	c.mu.Unlock()
}

func (c *container) info() Info {
	r := c.rec
	r.Spec.Cmd = append([]string(nil), r.Spec.Cmd...)
	r.Spec.Entrypoint = append([]string(nil), r.Spec.Entrypoint...)
	r.Spec.Layers = append([]string(nil), r.Spec.Layers...)
	r.Spec.Env = append([]string(nil), r.Spec.Env...)
	r.Spec.Binds = slices.Clone(r.Spec.Binds)
	r.Spec.Mounts = slices.Clone(r.Spec.Mounts)
	r.Spec.Tmpfs = maps.Clone(r.Spec.Tmpfs)
	r.Spec.Volumes = slices.Clone(r.Spec.Volumes)
	r.Spec.MountPoints = slices.Clone(r.Spec.MountPoints)
	r.Spec.cloneOptions()
	if r.Run != nil {
		run := *r.Run
		r.Run = &run
	}
	if r.Next != nil {
		next := *r.Next
		r.Next = &next
	}
	return Info{Record: r}
}

// Options configure a Manager.
type Options struct {
	DataRoot    string
	ExecRoot    string
	MonitorPath string
	Units       scopes
	Images      *images.Store    // nil: containers from root file-system directories only
	Volumes     *volumes.Store   // nil: no volumes
	Networks    *network.Manager // nil: network modes none, host and container:ID only
	// Hold marks background work that must finish before berthd's idle
	// exit (a run's network teardown); nil: none.
	Hold func() (end func())
	Log  *slog.Logger
	// Events is called, without locks held, for every change.
	Events func(Event)
	// Snapshot is the configuration in force (for starts berthd makes on
	// its own: a restart policy applied after a monitor was lost); nil:
	// none are made.
	Snapshot func() *config.Snapshot
}

// New returns a Manager; call Load before use.
func New(o Options) *Manager {
	ev := o.Events
	if ev == nil {
		ev = func(Event) {}
	}
	return &Manager{
		dataRoot: o.DataRoot, execRoot: o.ExecRoot, units: o.Units, log: o.Log, images: o.Images, volumes: o.Volumes, net: o.Networks, hold: o.Hold, snapshot: o.Snapshot,
		monitorPath: o.MonitorPath, bootID: systemd.BootID(), events: ev, ready: make(chan struct{}),
		containers: map[string]*container{}, names: map[string]string{}, reserved: map[string]bool{},
		statsPrev: map[string]statsPrev{},
	}
}

// wait waits until Load has read the records; it returns Load's error.
func (m *Manager) wait() error {
	<-m.ready
	return m.loadErr
}

func (m *Manager) containerDir(id string) string { return filepath.Join(m.dataRoot, "containers", id) }
func (m *Manager) runDir(id string) string       { return filepath.Join(m.execRoot, "containers", id) }
func (m *Manager) notifyPath() string            { return filepath.Join(m.execRoot, "notify.sock") }

// LogPath is the local log of the container with full id id (package
// logfile); it need not exist.
func (m *Manager) LogPath(id string) string { return logfile.Path(m.containerDir(id)) }

func (m *Manager) forget(id string) {
	m.mu.Lock()
	if c, ok := m.containers[id]; ok {
		delete(m.names, c.rec.Name)
		delete(m.containers, id)
	}
	m.mu.Unlock()
	m.statsMu.Lock()
	delete(m.statsPrev, id)
	m.statsMu.Unlock()
}

// save writes the record; c.mu must be held.
func (m *Manager) save(c *container) error {
	c.rec.Version = RecordVersion
	return atomicfile.WriteJSON(filepath.Join(m.containerDir(c.rec.ID), "container.json"), c.rec, 0o600)
}

// lookup resolves a full id, a name or a unique id prefix.
func (m *Manager) lookup(ref string) (*container, error) {
	if err := m.wait(); err != nil {
		return nil, err
	}
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
	info := c.info()
	c.mu.Unlock()
	return m.withHealth(m.withNetwork(info)), nil
}

// List returns every container, oldest first.
func (m *Manager) List() []Info {
	cs := m.all()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		c.mu.Lock()
		info := c.info()
		c.mu.Unlock()
		out = append(out, m.withHealth(m.withNetwork(info)))
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
	if err := CheckHealthcheck(spec.Healthcheck, spec.HealthOnFailure); err != nil {
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
	} else {
		if err := checkRootfsDir(spec.Rootfs, m.dataRoot, m.execRoot); err != nil {
			return Info{}, err
		}
		spec.Env = mergeEnv(nil, spec.Env) // NAME alone: unset, nothing to unset here
		if err := m.validate(snap, &spec); err != nil {
			return Info{}, err
		}
	}
	// An action on failure needs a check that can fail (podman refuses
	// --health-on-failure without a healthcheck too).
	if a := spec.HealthOnFailure; a != "" && a != contract.HealthActionNone && !spec.HasHealthcheck() {
		return Info{}, invalid("health-on-failure %s: the container has no healthcheck (give --health-cmd, or an image with a HEALTHCHECK)", a)
	}
	mps, err := resolveMounts(&spec)
	if err != nil {
		return Info{}, err
	}
	spec.MountPoints = mps
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
	if err := m.wait(); err != nil {
		return Info{}, err
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
	err = os.Mkdir(dir, 0o700)
	if err == nil && fromImage {
		// The container's own layer, mounted now so that the user and
		// working directory are checked against the image's files.
		if err = mountRootfs(dir, spec.Layers); err == nil {
			rec.Spec.Rootfs = rootfsDir(dir)
			err = m.validate(snap, &rec.Spec)
		}
	}
	if err == nil {
		err = checkResolvedTargets(rec.Spec.Rootfs, rec.Spec.MountPoints)
	}
	var volumesMade []string
	volumesTaken := false
	if err == nil {
		// Volumes last: nothing of theirs exists unless all else is
		// valid.
		volumesMade, err = m.acquireVolumes(id, rec.Spec.Rootfs, rec.Spec.MountPoints)
		volumesTaken = err == nil
	}
	if err == nil {
		err = atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec, 0o600)
	}
	if err != nil {
		if volumesTaken {
			m.releaseVolumes(id, rec.Spec.MountPoints, false)
			m.removeVolumes(volumesMade)
		}
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
	resetEntrypoint(spec)
	if len(spec.Entrypoint)+len(spec.Cmd) == 0 {
		return fmt.Errorf("no command given (and the image has none): %w", errdefs.ErrInvalidArgument)
	}
	if err := m.validateNetwork(snap, spec); err != nil {
		return err
	}
	if spec.Network == "host" && spec.Hostname != "" {
		// The host's UTS namespace is shared: the runtime cannot set one.
		return fmt.Errorf("hostname %q: conflicts with network host: %w", spec.Hostname, errdefs.ErrInvalidArgument)
	}
	if spec.Runtime == "" {
		spec.Runtime = snap.DefaultRuntime
	}
	if _, _, err := snap.RuntimePath(spec.Runtime); err != nil {
		return err // errs.NoSuchRuntime, naming the runtime and the known ones
	}
	// Again: the image may have added environment, a command or a stop
	// signal.
	if err := checkSpec(spec); err != nil {
		return err
	}
	if err := checkRestart(spec); err != nil {
		return err
	}
	if err := m.resolveJoins(spec); err != nil {
		return err
	}
	// The spec is built at each start; checking its options now refuses a
	// missing root file system or an unknown user before anything exists.
	return ocispec.Validate(specOptions(spec, ""))
}
