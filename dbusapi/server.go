package dbusapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/dockerview"
	"github.com/berthd/berth/eventlog"
	"github.com/berthd/berth/idle"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/logs"
	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Names on the bus (see package contract).
const (
	BusName            = contract.BusName
	ManagerPath        = contract.ManagerPath
	ManagerInterface   = contract.ManagerInterface
	ContainerInterface = contract.ContainerInterface
	containerPrefix    = "/io/berth/Engine1/container/"
)

// The error names and mapping (see package contract).
const (
	ErrAccessDenied = contract.ErrAccessDenied
)

// ToDBus maps an error to a named D-Bus error.
func ToDBus(err error) *dbus.Error { return contract.ToDBus(err) }

//go:embed introspect.xml
var introspectXML string

// ContainerPath is the object path of a container.
func ContainerPath(id string) dbus.ObjectPath {
	return dbus.ObjectPath(containerPrefix + sd.PathBusEscape(id))
}

// Server exports the engine on one bus connection.
type Server struct {
	conn    *dbus.Conn
	mgr     *lifecycle.Manager
	live    *config.Live
	act     *idle.Tracker
	log     *slog.Logger
	version string

	// Reload puts a fresh configuration snapshot in force and returns
	// its digest (set by berthd before Export).
	Reload func(ctx context.Context) (string, error)

	images  *images.Store  // nil: no image support
	volumes *volumes.Store // nil: no volumes

	callersMu sync.Mutex
	callers   map[string]map[*context.CancelFunc]bool // by unique bus name

	mu          sync.Mutex
	emitted     map[string]map[string]any // container properties last signalled, by id
	imageObjs   map[string]*prop.Properties
	volumeObjs  map[string]bool
	networkObjs map[string]string // network id by name
	mprops      *prop.Properties

	// host and machineID name the daemon in Event signals (as the
	// journal's _HOSTNAME and _MACHINE_ID do in events read back).
	host, machineID string
}

// NewServer connects to the system bus and returns a server on that
// connection; call Export, then RequestName, and Close at the end.
func NewServer(mgr *lifecycle.Manager, imgs *images.Store, live *config.Live, act *idle.Tracker, log *slog.Logger, version string) (*Server, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("system bus: %w", err)
	}
	host, _ := os.Hostname()
	mid, _ := os.ReadFile("/etc/machine-id")
	return &Server{conn: conn, mgr: mgr, images: imgs, live: live, act: act, log: log, version: version,
		emitted: map[string]map[string]any{}, imageObjs: map[string]*prop.Properties{}, callers: map[string]map[*context.CancelFunc]bool{},
		host: host, machineID: strings.TrimSpace(string(mid))}, nil
}

// watchCallers cancels the calls of a caller that leaves the bus (see
// callerCtx).
func (s *Server) watchCallers() error {
	if err := s.conn.AddMatchSignal(dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged")); err != nil {
		return fmt.Errorf("watch callers: %w", err)
	}
	ch := make(chan *dbus.Signal, 64)
	s.conn.Signal(ch)
	go func() {
		for sig := range ch {
			if sig.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(sig.Body) != 3 {
				continue
			}
			name, _ := sig.Body[0].(string)
			owner, _ := sig.Body[2].(string)
			if owner != "" || !strings.HasPrefix(name, ":") {
				continue
			}
			s.callersMu.Lock()
			for cancel := range s.callers[name] {
				(*cancel)()
			}
			delete(s.callers, name)
			s.callersMu.Unlock()
		}
	}()
	return nil
}

// callerCtx returns a context that is cancelled when sender leaves the
// bus (a killed berthctl): a start whose caller is gone launches nothing.
// Call release when the call is done.
func (s *Server) callerCtx(ctx context.Context, sender dbus.Sender) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	name := string(sender)
	s.callersMu.Lock()
	if s.callers[name] == nil {
		s.callers[name] = map[*context.CancelFunc]bool{}
	}
	s.callers[name][&cancel] = true
	s.callersMu.Unlock()
	// The caller may have left before we watched for it.
	var has bool
	if err := s.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err == nil && !has {
		cancel()
	}
	return ctx, func() {
		s.callersMu.Lock()
		delete(s.callers[name], &cancel)
		if len(s.callers[name]) == 0 {
			delete(s.callers, name)
		}
		s.callersMu.Unlock()
		cancel()
	}
}

// Lost is closed when the bus connection has gone (the bus daemon
// restarted or dropped berthd); nothing can reach berthd then.
func (s *Server) Lost() <-chan struct{} { return s.conn.Context().Done() }

// Close closes the bus connection.
func (s *Server) Close() { s.conn.Close() }

// Export puts the manager, the containers and the images on the bus.
func (s *Server) Export() error {
	if err := s.watchCallers(); err != nil {
		return err
	}
	m := &manager{s: s}
	if err := s.conn.Export(m, ManagerPath, ManagerInterface); err != nil {
		return err
	}
	snap := s.live.Load()
	props, err := prop.Export(s.conn, ManagerPath, prop.Map{ManagerInterface: {
		"Version":        {Value: s.version, Emit: prop.EmitConst},
		"ConfigDigest":   {Value: snap.Digest, Emit: prop.EmitTrue},
		"DefaultRuntime": {Value: snap.DefaultRuntime, Emit: prop.EmitTrue},
		"Runtimes":       {Value: snap.RuntimeNames(), Emit: prop.EmitTrue},
	}})
	if err != nil {
		return err
	}
	s.mprops = props
	if err := s.conn.Export(introspectable{iface: ManagerInterface, children: func() []string { return []string{"container", "image", "volume", "network"} }}, ManagerPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return err
	}
	if err := s.exportContainers(); err != nil {
		return err
	}
	err = s.conn.Export(introspectable{children: s.imageIDs}, dbus.ObjectPath(imagePrefix[:len(imagePrefix)-1]), "org.freedesktop.DBus.Introspectable")
	if err != nil {
		return err
	}
	s.syncImages()
	if s.images != nil {
		s.images.OnChange(s.syncImages)
	}
	err = s.conn.Export(introspectable{children: s.volumeNames}, dbus.ObjectPath(volumePrefix[:len(volumePrefix)-1]), "org.freedesktop.DBus.Introspectable")
	if err != nil {
		return err
	}
	s.syncVolumes()
	err = s.conn.Export(introspectable{children: s.networkNames}, dbus.ObjectPath(networkPrefix[:len(networkPrefix)-1]), "org.freedesktop.DBus.Introspectable")
	if err != nil {
		return err
	}
	if nm := s.nets(); nm != nil {
		nm.OnChange(s.syncNetworks)
	}
	s.syncNetworks()
	return nil
}

// RequestName takes io.berth.Engine1; it fails if another owner has it.
func (s *Server) RequestName() error {
	reply, err := s.conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("request %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("request %s: the name is taken", BusName)
	}
	return nil
}

// ReleaseName gives the name back so that the next call activates a new
// berthd.
func (s *Server) ReleaseName() { s.conn.ReleaseName(BusName) }

// OnEvent is the lifecycle.Manager event hook: it emits the manager's
// signals and the container objects' PropertiesChanged.
func (s *Server) OnEvent(ev lifecycle.Event) {
	path := ContainerPath(ev.Info.ID)
	switch ev.Kind {
	case lifecycle.EventNew:
		s.propertiesChanged(ev.Info)
		s.conn.Emit(ManagerPath, ManagerInterface+".ContainerNew", ev.Info.ID, path)
	case lifecycle.EventChanged:
		s.propertiesChanged(ev.Info)
	case lifecycle.EventRemoved:
		s.mu.Lock()
		delete(s.emitted, ev.Info.ID)
		s.mu.Unlock()
		s.conn.Emit(ManagerPath, ManagerInterface+".ContainerRemoved", ev.Info.ID, path)
	}
}

// EmitEvent sends the manager's Event signal for one of berth's events
// (an events.Observe observer: entry is the event's journal fields), in
// docker's terms: type, action, actor id, attributes, time in nanoseconds
// since the epoch. Entries that are no event are dropped.
func (s *Server) EmitEvent(entry map[string]string) {
	e := make(map[string]string, len(entry)+3)
	maps.Copy(e, entry)
	e["__REALTIME_TIMESTAMP"] = strconv.FormatInt(time.Now().UnixMicro(), 10)
	e["_HOSTNAME"], e["_MACHINE_ID"] = s.host, s.machineID
	m, ok := eventlog.Message(e)
	if !ok {
		return
	}
	attrs := m.Actor.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	s.conn.Emit(ManagerPath, ManagerInterface+".Event", string(m.Type), string(m.Action), m.Actor.ID, attrs, m.TimeNano)
}

// SetSnapshot updates the manager properties after a reload.
func (s *Server) SetSnapshot(snap *config.Snapshot) {
	s.mprops.SetMust(ManagerInterface, "ConfigDigest", snap.Digest)
	s.mprops.SetMust(ManagerInterface, "DefaultRuntime", snap.DefaultRuntime)
	s.mprops.SetMust(ManagerInterface, "Runtimes", snap.RuntimeNames())
}

func micros(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMicro())
}

func containerProps(i lifecycle.Info) map[string]any {
	return map[string]any{
		"Id":         i.ID,
		"Name":       i.Name,
		"Image":      dockerview.ImageOf(i),
		"State":      i.State.String(),
		"ExitCode":   int32(i.ExitCode),
		"Pid":        uint32(i.Pid),
		"Unit":       i.Unit(),
		"Runtime":    i.RuntimeName(),
		"CreatedAt":  micros(i.CreatedAt),
		"StartedAt":  micros(i.StartedAt()),
		"FinishedAt": micros(i.FinishedAt),
		"Health":     healthStatus(i),
		// The restarts of the current (or last) run by its restart policy.
		"RestartCount": uint32(i.RestartCount),
	}
}

func (s *Server) containerIDs() []string {
	var ids []string
	for _, i := range s.mgr.List() {
		ids = append(ids, i.ID)
	}
	return ids
}

// authorize allows uid 0 and members of group berth.
func (s *Server) authorize(sender dbus.Sender) *dbus.Error {
	var creds map[string]dbus.Variant
	err := s.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionCredentials", 0, string(sender)).Store(&creds)
	if err != nil {
		return dbus.NewError(ErrAccessDenied, []any{"cannot identify the caller: " + err.Error()})
	}
	uid, ok := creds["UnixUserID"].Value().(uint32)
	if !ok {
		return dbus.NewError(ErrAccessDenied, []any{"the caller has no uid"})
	}
	if uid == 0 {
		return nil
	}
	if g, err := user.LookupGroup("berth"); err == nil {
		if gid, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
			gids, _ := creds["UnixGroupIDs"].Value().([]uint32)
			if slices.Contains(gids, uint32(gid)) {
				return nil
			}
		}
	}
	return dbus.NewError(ErrAccessDenied, []any{fmt.Sprintf("uid %d is not root and not in group berth", uid)})
}

// call runs one privileged method: it counts as activity, checks the
// caller, takes the config snapshot once and maps the error.
func (s *Server) call(sender dbus.Sender, f func(ctx context.Context, snap *config.Snapshot) error) *dbus.Error {
	defer s.act.Begin()()
	if err := s.authorize(sender); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := f(ctx, s.live.Load()); err != nil {
		return ToDBus(err)
	}
	return nil
}

// passFD hands a descriptor to the client. godbus sends the reply
// synchronously after the method returns, so our copy is closed a little
// later rather than at once.
func passFD(f *os.File) dbus.UnixFD {
	fd := dbus.UnixFD(f.Fd()) // before the close is scheduled
	time.AfterFunc(5*time.Second, func() { f.Close() })
	return fd
}

type manager struct{ s *Server }

// ContainerEntry is one row of ListContainers.
type ContainerEntry = contract.ContainerEntry

func entry(i lifecycle.Info) ContainerEntry {
	// The program and its arguments, as docker ps shows them: the
	// entrypoint and the command.
	cmd, _ := json.Marshal(append(append([]string{}, i.Spec.Entrypoint...), i.Spec.Cmd...))
	return ContainerEntry{
		ID: i.ID, Name: i.Name, Image: dockerview.ImageOf(i), Command: string(cmd), State: i.State.String(),
		CreatedAt: micros(i.CreatedAt), StartedAt: micros(i.StartedAt()), FinishedAt: micros(i.FinishedAt),
		ExitCode: int32(i.ExitCode), Path: ContainerPath(i.ID), Labels: dockerview.OrEmptyMap(i.Spec.Labels),
		Mounts: mountEntries(i), Ports: portEntries(i), Networks: slices.Sorted(maps.Keys(dockerview.NetworkSettings(i).Networks)),
		Health: healthStatus(i),
	}
}

// portEntries are a row's ports: docker's list row ports (package
// dockerview), on the wire.
func portEntries(i lifecycle.Info) []contract.PortEntry {
	out := []contract.PortEntry{}
	for _, p := range dockerview.PortSummaries(i) {
		e := contract.PortEntry{PrivatePort: p.PrivatePort, PublicPort: p.PublicPort, Type: p.Type}
		if p.IP.IsValid() {
			e.IP = p.IP.String()
		}
		out = append(out, e)
	}
	return out
}

func (m *manager) ListContainers(options map[string]dbus.Variant) ([]ContainerEntry, *dbus.Error) {
	defer m.s.act.Begin()()
	if err := knownOptions("ListContainers", options, "all"); err != nil {
		return nil, ToDBus(err)
	}
	all, err := optBool(options, "all", true)
	if err != nil {
		return nil, ToDBus(err)
	}
	out := []ContainerEntry{}
	for _, i := range m.s.mgr.List() {
		if all || i.State.Live() {
			out = append(out, entry(i))
		}
	}
	return out, nil
}

func (m *manager) Reload(sender dbus.Sender, options map[string]dbus.Variant) (digest string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if m.s.Reload == nil {
			return fmt.Errorf("reload: %w", errdefs.ErrNotImplemented)
		}
		if err := knownOptions("Reload", options); err != nil {
			return err
		}
		d, err := m.s.Reload(ctx)
		digest = d
		return err
	})
	return
}

func (m *manager) GetContainer(ref string) (dbus.ObjectPath, *dbus.Error) {
	defer m.s.act.Begin()()
	info, err := m.s.mgr.Get(ref)
	if err != nil {
		return "", ToDBus(err)
	}
	return ContainerPath(info.ID), nil
}

func (m *manager) CreateContainer(sender dbus.Sender, options map[string]dbus.Variant) (id string, path dbus.ObjectPath, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, snap *config.Snapshot) error {
		name, spec, err := specFromOptions(options)
		if err != nil {
			return err
		}
		info, err := m.s.mgr.Create(ctx, snap, name, spec)
		if err != nil {
			return err
		}
		id, path = info.ID, ContainerPath(info.ID)
		return nil
	})
	return
}

func (m *manager) StartContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, snap *config.Snapshot) error {
		if err := knownOptions("StartContainer", options, "attach"); err != nil {
			return err
		}
		attach, err := optBool(options, "attach", false)
		if err != nil {
			return err
		}
		ctx, release := m.s.callerCtx(ctx, sender)
		defer release()
		_, err = m.s.mgr.Start(ctx, snap, ref, lifecycle.StartOptions{Attach: attach})
		return err
	})
}

func (m *manager) StopContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("StopContainer", options, "timeout", "signal"); err != nil {
			return err
		}
		t, err := optTimeout(options)
		if err != nil {
			return err
		}
		sig, err := optString(options, "signal")
		if err != nil {
			return err
		}
		_, err = m.s.mgr.StopWith(ctx, ref, lifecycle.StopOptions{Timeout: t, Signal: sig})
		return err
	})
}

func (m *manager) RestartContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, snap *config.Snapshot) error {
		if err := knownOptions("RestartContainer", options, "timeout", "signal"); err != nil {
			return err
		}
		t, err := optTimeout(options)
		if err != nil {
			return err
		}
		sig, err := optString(options, "signal")
		if err != nil {
			return err
		}
		_, err = m.s.mgr.RestartWith(ctx, snap, ref, lifecycle.StopOptions{Timeout: t, Signal: sig})
		return err
	})
}

func (m *manager) KillContainer(sender dbus.Sender, ref, signal string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("KillContainer", options); err != nil {
			return err
		}
		return m.s.mgr.Kill(ctx, ref, signal)
	})
}

func (m *manager) PauseContainer(sender dbus.Sender, ref string) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error { return m.s.mgr.Pause(ctx, ref) })
}

func (m *manager) UnpauseContainer(sender dbus.Sender, ref string) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error { return m.s.mgr.Unpause(ctx, ref) })
}

func (m *manager) RemoveContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("RemoveContainer", options, "force", "volumes"); err != nil {
			return err
		}
		force, err := optBool(options, "force", false)
		if err != nil {
			return err
		}
		vols, err := optBool(options, "volumes", false)
		if err != nil {
			return err
		}
		return m.s.mgr.RemoveWith(ctx, ref, lifecycle.RemoveOptions{Force: force, Volumes: vols})
	})
}

func (m *manager) RenameContainer(sender dbus.Sender, ref, newName string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("RenameContainer", options); err != nil {
			return err
		}
		_, err := m.s.mgr.Rename(ctx, ref, newName)
		return err
	})
}

func (m *manager) UpdateContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("UpdateContainer", options, "memory", "cpus", "cpu_shares", "pids_limit", "restart_policy"); err != nil {
			return err
		}
		var policy *lifecycle.RestartPolicy
		if _, ok := options["restart_policy"]; ok {
			s, err := optString(options, "restart_policy")
			if err != nil {
				return err
			}
			p, err := lifecycle.ParseRestartPolicy(s)
			if err != nil {
				return err
			}
			policy = &p
		}
		var r lifecycle.Resources
		for _, f := range []struct {
			name string
			dst  **uint64
		}{{"memory", &r.Memory}, {"cpu_shares", &r.CPUShares}, {"pids_limit", &r.PidsLimit}} {
			if _, ok := options[f.name]; !ok {
				continue
			}
			v, err := optInt(options, f.name)
			if err != nil {
				return err
			}
			if v < 0 {
				return fmt.Errorf("option %q: negative: %w", f.name, errdefs.ErrInvalidArgument)
			}
			u := uint64(v)
			*f.dst = &u
		}
		if v, ok := options["cpus"]; ok {
			f, ok := v.Value().(float64)
			if !ok {
				return invalidOpt("cpus", "a number (d)", v)
			}
			var n uint64
			if f != 0 {
				var err error
				if n, err = lifecycle.CPUsToNano(f, runtime.NumCPU()); err != nil {
					return fmt.Errorf("option \"cpus\": %w", err)
				}
			}
			r.NanoCPUs = &n
		}
		if r != (lifecycle.Resources{}) || policy == nil {
			if _, err := m.s.mgr.Update(ctx, ref, r); err != nil {
				return err
			}
		}
		if policy != nil {
			if _, err := m.s.mgr.SetRestartPolicy(ctx, ref, *policy); err != nil {
				return err
			}
		}
		return nil
	})
}

// RestoreContainers starts the containers that their restart policy
// brings back after a boot (berth-restore.service calls it): always, and
// unless-stopped ones the user did not stop. It returns the names started;
// if some could not be, it fails naming them after starting the others.
func (m *manager) RestoreContainers(sender dbus.Sender) (names []string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, snap *config.Snapshot) error {
		var err error
		names, err = m.s.mgr.Restore(ctx, snap)
		return err
	})
	if names == nil {
		names = []string{}
	}
	return names, derr
}

func (m *manager) PruneContainers(sender dbus.Sender, options map[string]dbus.Variant) (ids []string, bytes uint64, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("PruneContainers", options, "filter"); err != nil {
			return err
		}
		in, err := optStrings(options, "filter")
		if err != nil {
			return err
		}
		f, err := lifecycle.ParsePruneFilters(in, time.Now())
		if err != nil {
			return err
		}
		ids, bytes, err = m.s.mgr.Prune(ctx, f)
		return err
	})
	if ids == nil {
		ids = []string{}
	}
	return
}

func (m *manager) TopContainer(sender dbus.Sender, ref string, psArgs []string) (titles []string, procs [][]string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) (err error) {
		titles, procs, err = m.s.mgr.Top(ctx, ref, psArgs)
		return err
	})
	if titles == nil {
		titles = []string{}
	}
	if procs == nil {
		procs = [][]string{}
	}
	return
}

// GetContainerStats takes one reading of a container's resources and
// returns it as JSON in docker's StatsResponse shape (what the Engine
// API's stats endpoint serves); a stopped container gives docker's zero
// figures.
func (m *manager) GetContainerStats(sender dbus.Sender, ref string) (out string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		st, err := m.s.mgr.Stats(ctx, ref)
		if err != nil {
			return err
		}
		b, err := json.Marshal(st)
		out = string(b)
		return err
	})
	return
}

func (m *manager) WaitContainer(sender dbus.Sender, ref string) (code int32, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		c, err := m.s.mgr.Wait(ctx, ref)
		code = int32(c)
		return err
	})
	return
}

func (m *manager) InspectContainer(sender dbus.Sender, ref string) (out string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		info, err := m.s.mgr.Get(ref)
		if err != nil {
			return err
		}
		b, err := m.s.inspectJSON(info)
		out = string(b)
		return err
	})
	return
}

func (m *manager) AttachContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) (fd dbus.UnixFD, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("AttachContainer", options, "stdin"); err != nil {
			return err
		}
		stdin, err := optBool(options, "stdin", false)
		if err != nil {
			return err
		}
		f, err := m.s.mgr.Attach(ctx, ref, stdin)
		if err != nil {
			return err
		}
		fd = passFD(f)
		return nil
	})
	return
}

func (m *manager) ExecContainer(sender dbus.Sender, ref string, cmd []string, options map[string]dbus.Variant) (fd dbus.UnixFD, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("ExecContainer", options, "tty", "stdin", "env", "workdir", "user", "console_size"); err != nil {
			return err
		}
		o := lifecycle.ExecOptions{Cmd: cmd}
		var err error
		if o.TTY, err = optBool(options, "tty", false); err != nil {
			return err
		}
		if o.Stdin, err = optBool(options, "stdin", false); err != nil {
			return err
		}
		if o.Env, err = optStrings(options, "env"); err != nil {
			return err
		}
		if o.Workdir, err = optString(options, "workdir"); err != nil {
			return err
		}
		if o.User, err = optString(options, "user"); err != nil {
			return err
		}
		if o.ConsoleSize, err = optConsoleSize(options); err != nil {
			return err
		}
		f, err := m.s.mgr.Exec(ctx, ref, o)
		if err != nil {
			return err
		}
		fd = passFD(f)
		return nil
	})
	return
}

func (m *manager) GetContainerLogs(sender dbus.Sender, ref string, options map[string]dbus.Variant) (fd dbus.UnixFD, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		o, err := logOptions(options)
		if err != nil {
			return err
		}
		// An open log stream keeps berthd from going idle.
		f, err := m.s.mgr.Logs(ctx, ref, o, m.s.act.Begin())
		if err != nil {
			return err
		}
		fd = passFD(f)
		return nil
	})
	return
}

// logOptions reads GetContainerLogs' options: follow (b), tail (x; -1 or
// absent: all; an older client's tail (i) of 0 also means all), since and
// until (x, µs since the epoch; absent: no bound), timestamps (b). Unknown
// keys and wrong types are refused.
func logOptions(options map[string]dbus.Variant) (logs.Options, error) {
	o := logs.Options{Tail: -1}
	if err := knownOptions("GetContainerLogs", options, "follow", "tail", "since", "until", "timestamps"); err != nil {
		return o, err
	}
	var err error
	if o.Follow, err = optBool(options, "follow", false); err != nil {
		return o, err
	}
	if o.Timestamps, err = optBool(options, "timestamps", false); err != nil {
		return o, err
	}
	if v, ok := options["tail"]; ok {
		tail, err := optInt(options, "tail")
		if err != nil {
			return o, err
		}
		if _, old := v.Value().(int32); old && tail <= 0 {
			tail = -1 // tail (i) of older clients: 0 was all
		}
		if tail < -1 {
			return o, fmt.Errorf("option \"tail\": %d: want -1 (all) or more: %w", tail, errdefs.ErrInvalidArgument)
		}
		o.Tail = int(tail)
	}
	if err := optTimeRange(options, &o.Since, &o.Until); err != nil {
		return o, err
	}
	return o, nil
}

// inspectJSON is InspectContainer's answer: docker's inspect (package
// dockerview, the same rendering the Engine API serves) with berth's own
// fields added: Unit, Runtime, ObjectPath and, once started, RuntimePath.
func (s *Server) inspectJSON(i lifecycle.Info) ([]byte, error) {
	extra := map[string]any{"Unit": i.Unit(), "Runtime": i.RuntimeName(), "ObjectPath": ContainerPath(i.ID)}
	if i.Run != nil {
		extra["RuntimePath"] = i.Run.RuntimePath
	}
	return dockerview.JSON(dockerview.Inspect(i, s.mgr.ContainerDir(i.ID)), extra)
}

// knownOptions refuses option keys that method does not know: an option
// that is ignored would silently do something else than asked.
func knownOptions(method string, o map[string]dbus.Variant, known ...string) error {
	for k := range o {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return fmt.Errorf("option %q: %s takes no options: %w", k, method, errdefs.ErrInvalidArgument)
			}
			return fmt.Errorf("option %q: unknown to %s (known: %s): %w", k, method, strings.Join(known, ", "), errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

func invalidOpt(name, want string, v dbus.Variant) error {
	return fmt.Errorf("option %q: want %s, got %s: %w", name, want, v.Signature(), errdefs.ErrInvalidArgument)
}

func optBool(o map[string]dbus.Variant, name string, def bool) (bool, error) {
	v, ok := o[name]
	if !ok {
		return def, nil
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, invalidOpt(name, "a boolean (b)", v)
	}
	return b, nil
}

func optString(o map[string]dbus.Variant, name string) (string, error) {
	v, ok := o[name]
	if !ok {
		return "", nil
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", invalidOpt(name, "a string (s)", v)
	}
	return s, nil
}

func optStrings(o map[string]dbus.Variant, name string) ([]string, error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	s, ok := v.Value().([]string)
	if !ok {
		return nil, invalidOpt(name, "a string array (as)", v)
	}
	return s, nil
}

func optInt(o map[string]dbus.Variant, name string) (int64, error) {
	v, ok := o[name]
	if !ok {
		return 0, nil
	}
	switch x := v.Value().(type) {
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("option %q: %d is too large: %w", name, x, errdefs.ErrInvalidArgument)
		}
		return int64(x), nil
	}
	return 0, invalidOpt(name, "an integer", v)
}

func optTimeout(o map[string]dbus.Variant) (*int, error) {
	if _, ok := o["timeout"]; !ok {
		return nil, nil
	}
	t, err := optInt(o, "timeout")
	if err != nil {
		return nil, err
	}
	if err := lifecycle.CheckStopTimeout("option \"timeout\"", t); err != nil {
		return nil, err
	}
	v := int(t)
	return &v, nil
}

// optConsoleSize reads "console_size" (au: [height, width] in character
// cells), the size a TTY has before the process runs; absent is [0, 0].
func optConsoleSize(o map[string]dbus.Variant) ([2]uint, error) {
	v, ok := o["console_size"]
	if !ok {
		return [2]uint{}, nil
	}
	a, ok := v.Value().([]uint32)
	if !ok || len(a) != 2 {
		return [2]uint{}, invalidOpt("console_size", "[height, width] (au)", v)
	}
	for _, x := range a {
		if x == 0 || x > 0xffff {
			return [2]uint{}, fmt.Errorf("option \"console_size\": %d: want 1..65535 cells: %w", x, errdefs.ErrInvalidArgument)
		}
	}
	return [2]uint{uint(a[0]), uint(a[1])}, nil
}

// specFromOptions reads CreateContainer's options.
func specFromOptions(o map[string]dbus.Variant) (string, lifecycle.Spec, error) {
	known := map[string]bool{"name": true, "rootfs": true, "image": true, "cmd": true, "env": true, "workdir": true,
		"user": true, "hostname": true, "network": true, "runtime": true, "tty": true, "stdin": true,
		"auto_remove": true, "no_new_privileges": true, "stop_signal": true, "stop_timeout": true,
		"memory": true, "cpus": true, "cpu_shares": true, "pids_limit": true, "console_size": true, "restart_policy": true}
	for _, k := range append(append(slices.Clone(mountKeys), hostConfigKeys...), healthKeys...) {
		known[k] = true
	}
	if err := knownOptions("CreateContainer", o, slices.Sorted(maps.Keys(known))...); err != nil {
		return "", lifecycle.Spec{}, err
	}
	var s lifecycle.Spec
	var err error
	str := func(name string, dst *string) {
		if err == nil {
			*dst, err = optString(o, name)
		}
	}
	boolean := func(name string, dst *bool) {
		if err == nil {
			*dst, err = optBool(o, name, false)
		}
	}
	unsigned := func(name string, dst *uint64) {
		if err == nil {
			var v int64
			v, err = optInt(o, name)
			if err == nil && v < 0 {
				err = fmt.Errorf("option %q: negative: %w", name, errdefs.ErrInvalidArgument)
			}
			*dst = uint64(v)
		}
	}
	var name string
	str("name", &name)
	str("rootfs", &s.Rootfs)
	str("image", &s.Image)
	str("workdir", &s.Workdir)
	str("user", &s.User)
	str("hostname", &s.Hostname)
	str("network", &s.Network)
	str("runtime", &s.Runtime)
	str("stop_signal", &s.StopSignal)
	boolean("tty", &s.TTY)
	boolean("stdin", &s.Stdin)
	boolean("auto_remove", &s.AutoRemove)
	boolean("no_new_privileges", &s.NoNewPrivileges)
	unsigned("memory", &s.Memory)
	unsigned("cpu_shares", &s.CPUShares)
	unsigned("pids_limit", &s.PidsLimit)
	if err != nil {
		return "", s, err
	}
	if s.Cmd, err = optStrings(o, "cmd"); err != nil {
		return "", s, err
	}
	if s.Env, err = optStrings(o, "env"); err != nil {
		return "", s, err
	}
	if s.ConsoleSize, err = optConsoleSize(o); err != nil {
		return "", s, err
	}
	if _, ok := o["restart_policy"]; ok {
		v, err := optString(o, "restart_policy")
		if err != nil {
			return "", s, err
		}
		if s.RestartPolicy, err = lifecycle.ParseRestartPolicy(v); err != nil {
			return "", s, fmt.Errorf("option %q: %w", "restart_policy", err)
		}
	}
	if v, ok := o["cpus"]; ok {
		f, ok := v.Value().(float64)
		if !ok {
			return "", s, invalidOpt("cpus", "a number (d)", v)
		}
		if s.NanoCPUs, err = lifecycle.CPUsToNano(f, runtime.NumCPU()); err != nil {
			return "", s, fmt.Errorf("option %q: %w", "cpus", err)
		}
	}
	if _, ok := o["stop_timeout"]; ok {
		t, err := optInt(o, "stop_timeout")
		if err != nil {
			return "", s, err
		}
		if err := lifecycle.CheckStopTimeout("option \"stop_timeout\"", t); err != nil {
			return "", s, err
		}
		v := int(t)
		s.StopTimeout = &v
	}
	if err := mountsFromOptions(o, &s); err != nil {
		return "", s, err
	}
	if err := hostConfigFromOptions(o, &s); err != nil {
		return "", s, err
	}
	if err := healthFromOptions(o, &s); err != nil {
		return "", s, err
	}
	if s.Rootfs == "" && s.Image == "" {
		return "", s, fmt.Errorf("option \"image\" or \"rootfs\" (a root file-system directory) is required: %w", errdefs.ErrInvalidArgument)
	}
	if s.Rootfs != "" && s.Image != "" {
		return "", s, fmt.Errorf("options \"image\" and \"rootfs\" given together: a container runs either an image or a root file-system directory: %w", errdefs.ErrInvalidArgument)
	}
	return name, s, nil
}

// optTimeRange reads the options since and until (x: microseconds since
// the epoch) into since and until (left zero when absent); a negative
// time or an until before since is errdefs.ErrInvalidArgument.
func optTimeRange(options map[string]dbus.Variant, since, until *time.Time) error {
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"since", since}, {"until", until}} {
		if _, ok := options[b.name]; !ok {
			continue
		}
		us, err := optInt(options, b.name)
		if err != nil {
			return err
		}
		if us < 0 {
			return fmt.Errorf("option %q: negative: %w", b.name, errdefs.ErrInvalidArgument)
		}
		*b.t = time.UnixMicro(us)
	}
	if !since.IsZero() && !until.IsZero() && until.Before(*since) {
		return fmt.Errorf("option \"until\" is before \"since\": %w", errdefs.ErrInvalidArgument)
	}
	return nil
}
