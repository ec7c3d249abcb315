package lifecycle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/ocispec"
	"github.com/berthd/berth/runtimes"
	"github.com/berthd/berth/systemd"
	"github.com/containerd/errdefs"
	"github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func specOptions(spec *Spec, cgroupsPath string) ocispec.Options {
	return ocispec.Options{
		Rootfs: spec.Rootfs, Args: append(slices.Clone(spec.Entrypoint), spec.Cmd...), Env: spec.Env, Cwd: spec.Workdir, User: spec.User,
		Hostname: spec.Hostname, Network: spec.Network, TTY: spec.TTY, ConsoleSize: spec.ConsoleSize,
		NoNewPrivileges: spec.NoNewPrivileges, CgroupsPath: cgroupsPath, Mounts: ociMounts(spec.MountPoints),
		ReadonlyRootfs: spec.ReadonlyRootfs, CapAdd: spec.CapAdd, CapDrop: spec.CapDrop, Privileged: spec.Privileged,
		Devices: spec.Devices, Ulimits: spec.Ulimits, Init: spec.Init, ShmSize: spec.ShmSize, GroupAdd: spec.GroupAdd,
		Sysctls: spec.Sysctls, SecurityOpt: spec.SecurityOpt, PidMode: spec.PidMode, IpcMode: spec.IpcMode,
		OomScoreAdj: spec.OomScoreAdj,
	}
}

func ociMounts(mps []MountPoint) []specs.Mount {
	var out []specs.Mount
	for _, mp := range mps {
		out = append(out, ociMount(mp))
	}
	return out
}

func buildSpec(spec *Spec, cgroupsPath string) (*specs.Spec, error) {
	return ocispec.Generate(specOptions(spec, cgroupsPath))
}

// event writes a container's event to the journal. berthd writes every
// container event it sees, died included, from its own unit: the
// container's scope shares journald's per-unit rate limit with the
// container's output, which could use it up.
func (m *Manager) event(k events.Kind, info Info, extra ...events.Field) {
	events.Emit(k, "berthd", fmt.Sprintf("container %s: %s", info.Name, k.Action), append(eventSubject(info.Record), extra...)...)
}

// eventSubject names a container in its events: id, name, image (or root
// file-system directory) and labels.
func eventSubject(r Record) []events.Field {
	image := r.Spec.Image
	if image == "" {
		image = r.Spec.Rootfs
	}
	return events.ContainerWith(r.ID, r.Name, image, r.Spec.Labels)
}

func stopTimeout(spec Spec) int {
	if spec.StopTimeout != nil {
		return *spec.StopTimeout
	}
	return DefaultStopTimeout
}

// StartOptions tune Start.
type StartOptions struct {
	// Attach makes the payload wait (up to a minute) for the first attach
	// before it runs, so that no output is missed.
	Attach bool
}

// Start runs a created or exited container in a fresh scope. It resolves
// the runtime against snap and records the resolved path for the run.
// It returns once the runtime has created the container.
//
// The container is marked busy (not locked) while the previous scope goes
// and the monitor starts, so readers answer at once and other state
// changes wait for the start to commit or fail. An auto-remove container
// whose start fails is removed.
func (m *Manager) Start(ctx context.Context, snap *config.Snapshot, ref string, o StartOptions) (Info, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	if c.gone {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
	}
	if err := Check(c.rec.State, OpStart); err != nil {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	id, name := c.rec.ID, c.rec.Name
	run, err := newRun()
	if err != nil {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s: %w", name, err)
	}
	run.RuntimeRoot, run.Unit, run.RunDir, run.BootID = filepath.Join(m.execRoot, "runc"), UnitName(id), m.runDir(id), m.bootID
	var prev *Run
	if c.rec.Run != nil {
		p := *c.rec.Run
		prev = &p
	}
	c.begin(OpStart)
	c.mu.Unlock()

	pid, err := m.startRun(ctx, snap, c, run, prev, o)

	c.mu.Lock()
	early := c.early
	c.early = nil
	if err != nil {
		if c.rec.Next != nil {
			// Nothing of this run is left running (launch's promise).
			c.rec.Next = nil
			if serr := m.save(c); serr != nil {
				m.log.Error("cannot save container record", "container", id, "err", serr)
			}
		}
		c.end()
		c.mu.Unlock()
		err = fmt.Errorf("container %s: %w", name, err)
		if c.rec.Spec.AutoRemove {
			// As docker: an auto-remove container whose start fails
			// is removed, whatever the client does next.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			if rerr := m.RemoveWith(rctx, id, RemoveOptions{Force: true, Volumes: true}); rerr != nil {
				m.log.Warn("cannot remove the auto-remove container after its failed start", "container", id, "err", rerr)
			}
			cancel()
		}
		return Info{}, err
	}
	m.commitRun(c, run, pid, early)
	info := c.info()
	c.end()
	c.mu.Unlock()
	m.event(events.Started, info, events.Field{Name: "UNIT", Value: run.Unit})
	m.events(Event{Kind: EventChanged, Info: info})
	// Restart notices that came before the commit are in restart.json.
	m.readRestart(id, *run, false)
	if early != nil {
		m.recordExit(id, *early)
	}
	return info, nil
}

// startRun resolves the runtime, waits for the previous scope to go,
// deletes what the previous run may have left of the runtime's state,
// records run as the container's Next run and launches it; c must be
// marked busy by the caller, c.mu not held.
func (m *Manager) startRun(ctx context.Context, snap *config.Snapshot, c *container, run *Run, prev *Run, o StartOptions) (int, error) {
	rt, err := snap.Runtime(c.rec.Spec.Runtime)
	if err != nil {
		return 0, fmt.Errorf("cannot start: %w", err)
	}
	run.RuntimeName, run.RuntimePath = rt.Name, rt.Path
	if rt.Wrapper != nil {
		// Written (and checked) at load or reload; made again only if
		// someone removed it since.
		if _, err := os.Stat(rt.Path); err != nil {
			if err := runtimes.Ensure(*rt.Wrapper); err != nil {
				return 0, err
			}
		}
		if _, err := os.Stat(rt.Binary); err != nil {
			return 0, fmt.Errorf("runtime %s: %s is gone: %w", rt.Name, rt.Binary, errdefs.ErrUnavailable)
		}
	}
	if _, err := os.Stat(rt.Path); err != nil {
		return 0, fmt.Errorf("runtime %s: %s is gone: %w", rt.Name, rt.Path, errdefs.ErrUnavailable)
	}
	// A restart waits until the previous scope is gone.
	if err := m.units.WaitGone(ctx, run.Unit); err != nil {
		return 0, fmt.Errorf("previous scope: %w", err)
	}
	if prev != nil {
		// Left by a monitor that died or a crash (else "container with
		// given ID already exists").
		m.deleteRuntimeState(ctx, c.rec.ID, *prev)
	} else {
		m.deleteRuntimeState(ctx, c.rec.ID, *run)
	}
	os.Remove(contract.ExitPath(m.containerDir(c.rec.ID)))
	os.Remove(contract.RestartPath(m.containerDir(c.rec.ID)))
	run.StartedAt = time.Now().UTC()
	// Recorded before anything is launched: after a crash of berthd,
	// Load finds this run's scope and monitor through it.
	c.mu.Lock()
	next := *run
	c.rec.Next = &next
	err = m.save(c)
	c.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("record the run: %w", err)
	}
	return m.launch(ctx, snap, c, run, o)
}

// launch forks the monitor, puts it in a new scope, writes the bundle and
// lets the monitor create the container. On error nothing is left running.
// It reads only the container's immutable fields (c.mu is not held).
func (m *Manager) launch(ctx context.Context, snap *config.Snapshot, c *container, run *Run, o StartOptions) (int, error) {
	rec := &c.rec
	t0 := time.Now()
	var tFork, tScope, tCgroup, tSpec time.Duration
	defer func() {
		m.log.Debug("launch", "container", rec.ID, "fork", tFork, "scope", tScope, "cgroup", tCgroup, "spec", tSpec, "total", time.Since(t0))
	}()
	os.RemoveAll(run.RunDir)
	if rec.Spec.ImageID != "" {
		// Mounted at create; again after a reboot.
		if err := mountRootfs(m.containerDir(rec.ID), rec.Spec.Layers); err != nil {
			return 0, err
		}
	}
	if err := checkResolvedTargets(rec.Spec.Rootfs, rec.Spec.MountPoints); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(run.RunDir, "bundle"), 0o700); err != nil {
		return 0, err
	}
	sig := int(unix.SIGTERM)
	if rec.Spec.StopSignal != "" {
		s, _ := ParseSignal(rec.Spec.StopSignal)
		sig = int(s)
	}
	mcfg := contract.Config{
		Version: contract.FormatVersion, ID: rec.ID, Name: rec.Name, Image: rec.Spec.Image, Labels: rec.Spec.Labels,
		Run: run.ID, Secret: run.Secret, RuntimePath: run.RuntimePath, RuntimeRoot: run.RuntimeRoot,
		RunDir: run.RunDir, ContainerDir: m.containerDir(rec.ID), NotifySocket: m.notifyPath(),
		TTY: rec.Spec.TTY, Stdin: rec.Spec.Stdin, StopSignal: sig, StopTimeout: stopTimeout(rec.Spec),
		AutoRemove: rec.Spec.AutoRemove, BootID: m.bootID, Healthcheck: monitorHealthcheck(&rec.Spec),
	}
	c.mu.Lock()
	mcfg.Restart = rec.Spec.RestartPolicy // update --restart changes it
	c.mu.Unlock()
	if rec.Spec.ImageID != "" {
		mcfg.RootfsMount = rootfsDir(m.containerDir(rec.ID))
	}
	if mcfg.Image == "" {
		mcfg.Image = rec.Spec.Rootfs
	}
	cfgPath := filepath.Join(run.RunDir, "monitor.json")
	if err := atomicfile.WriteJSON(cfgPath, mcfg, 0o600); err != nil {
		return 0, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	// Our end is non-blocking, so the runtime poller serves it: Close
	// then interrupts a pending Read and deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return 0, err
	}
	ours := os.NewFile(uintptr(fds[0]), "start")
	theirs := os.NewFile(uintptr(fds[1]), "start-monitor")
	defer ours.Close()
	cmd := exec.Command(m.monitorPath, cfgPath)
	cmd.Env = []string{ocispec.DefaultPath}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		theirs.Close()
		return 0, fmt.Errorf("start monitor %s: %w", m.monitorPath, err)
	}
	theirs.Close()
	run.MonitorPID = cmd.Process.Pid
	go cmd.Wait() // berthd is the monitor's parent until berthd exits
	tFork = time.Since(t0)

	scopeAsked, netAsked := false, false
	fail := func(err error) (int, error) {
		ours.Close()
		cmd.Process.Kill()
		if scopeAsked {
			// The scope may exist without its process (see endScope).
			m.endScope(context.WithoutCancel(ctx), run.Unit)
		}
		if netAsked {
			m.detachNetwork(context.WithoutCancel(ctx), rec.ID, run.ID)
		}
		return 0, err
	}
	timeoutStop := time.Duration(stopTimeout(rec.Spec)+5) * time.Second
	scope := systemd.Scope{
		Name: run.Unit, Slice: snap.CgroupParent,
		Description: fmt.Sprintf("berth container %s (%s)", rec.Name, rec.ID[:12]),
		PIDs:        []uint32{uint32(run.MonitorPID)}, TimeoutStop: timeoutStop, KillSignal: unix.SIGCONT,
		Limits: limitsOf(rec.Spec),
	}
	scopeAsked = true
	if err := m.units.StartScope(ctx, scope); err != nil {
		return fail(fmt.Errorf("scope %s: %w", run.Unit, err))
	}
	tScope = time.Since(t0)
	cg, err := m.units.ControlGroup(ctx, run.Unit)
	if err != nil {
		return fail(err)
	}
	tCgroup = time.Since(t0)
	specOpts := rec.Spec
	if specOpts.Hostname == "" && specOpts.Network != "host" {
		specOpts.Hostname = rec.ID[:12] // as docker does
	}
	if err := m.prepareMounts(rec.ID, specOpts.MountPoints); err != nil {
		return fail(err)
	}
	so := specOptions(&specOpts, filepath.Join(cg, "container"))
	if err := m.joinNamespaces(specOpts, &so); err != nil {
		return fail(err)
	}
	dns := DNS{Servers: specOpts.DNS, Search: specOpts.DNSSearch, Options: specOpts.DNSOptions, ExtraHosts: specOpts.ExtraHosts}
	netAsked = true
	att, err := m.attachNetwork(ctx, rec, run)
	if err != nil {
		return fail(err)
	}
	if err := m.networkFiles(&specOpts, att, &so, &dns); err != nil {
		return fail(err)
	}
	etc, err := etcFiles(m.containerDir(rec.ID), specOpts.Rootfs, specOpts.ImageID != "", specOpts.Hostname, specOpts.Network == "host", specOpts.MountPoints, dns)
	if err != nil {
		return fail(err)
	}
	so.Mounts = append(so.Mounts, etc...)
	spec, err := ocispec.Generate(so)
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(run.RunDir, "bundle", "config.json"), spec, 0o600); err != nil {
		return fail(err)
	}
	tSpec = time.Since(t0)
	if err := ctx.Err(); err != nil {
		// The caller is gone (or gave up): launch nothing.
		return fail(fmt.Errorf("start abandoned before the payload was launched: %w", err))
	}
	g, _ := json.Marshal(contract.Go{Cgroup: filepath.Join("/sys/fs/cgroup", cg), Attach: o.Attach})
	if _, err := ours.Write(append(g, '\n')); err != nil {
		return fail(fmt.Errorf("monitor: %w", err))
	}
	ours.SetReadDeadline(time.Now().Add(2 * time.Minute))
	line, err := bufio.NewReader(ours).ReadBytes('\n')
	if err != nil {
		return fail(fmt.Errorf("monitor gave no answer: %w", err))
	}
	var st contract.Started
	if err := json.Unmarshal(line, &st); err != nil {
		return fail(fmt.Errorf("monitor answer %q: %w", line, err))
	}
	if st.Error != "" {
		// The monitor has cleaned up and exits; its scope goes with it.
		m.detachNetwork(context.WithoutCancel(ctx), rec.ID, run.ID)
		return 0, startError(spec.Root.Path, spec.Process, st.Error)
	}
	return st.Pid, nil
}

// startError classes a runtime's refusal to start a process: the command
// is looked up in the container's root file system, so that a missing
// one wraps errs.CommandNotFound and one that cannot be run
// errs.CommandNotExecutable whatever the runtime's wording (docker's exit
// codes 127 and 126 follow from those); anything else is an invalid
// argument. msg is the runtime's message.
func startError(rootfs string, p *specs.Process, msg string) error {
	if strings.Contains(msg, "preparing rootfs") {
		// runc failed before it looked for the command (a mount of the
		// root file system or of a volume): not the command's fault.
		return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
	}
	err := ocispec.CheckExecutable(rootfs, p)
	switch {
	case errors.Is(err, errs.CommandNotFound):
		return fmt.Errorf("%s: %w", msg, errs.CommandNotFound)
	case errors.Is(err, errs.CommandNotExecutable):
		return fmt.Errorf("%s: %w", msg, errs.CommandNotExecutable)
	case strings.Contains(msg, "executable file not found"):
		// The runtime saw another file system than ours (say, a mount
		// over the command's directory): go by its words.
		return fmt.Errorf("%s: %w", msg, errs.CommandNotFound)
	}
	return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
}

// sharesToWeight maps docker's --cpu-shares (2..262144, default 1024) onto
// CPUWeight (1..10000, default 100) as systemd and runc do.
// limitsOf are the scope's unit properties for a spec's limits.
func limitsOf(s Spec) systemd.Limits {
	l := systemd.Limits{
		MemoryMax: s.Memory, TasksMax: s.PidsLimit,
		CPUQuotaPerSec: time.Duration(s.NanoCPUs), // 1e9 nano-CPUs = 1s per second
	}
	if s.CPUShares > 0 {
		l.CPUWeight = sharesToWeight(s.CPUShares)
	}
	return l
}

func sharesToWeight(shares uint64) uint64 {
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

// liveRun returns the container's run if the operation is allowed, once
// no transition is under way.
func (m *Manager) liveRun(ctx context.Context, ref string, op Op) (*container, Run, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return nil, Run{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return nil, Run{}, err
	}
	defer c.mu.Unlock()
	if err := Check(c.rec.State, op); err != nil {
		return nil, Run{}, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	if c.rec.Run == nil {
		return nil, Run{}, fmt.Errorf("container %s: not running: %w", c.rec.Name, errdefs.ErrConflict)
	}
	return c, *c.rec.Run, nil
}

// runtime is the client for a run's runtime: every runtime call of a run
// uses the path and root recorded at its start, whatever the config says
// now.
func runtimeFor(run Run) *runc.Runc {
	return &runc.Runc{Command: run.RuntimePath, Root: run.RuntimeRoot}
}

// runtimeError names the run's runtime and the operation, cuts the
// runtime's output to a readable length and classes the error unavailable.
func runtimeError(run Run, op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("runtime %s %s: %s: %w", run.RuntimeName, op, contract.Cut(strings.TrimSpace(err.Error()), contract.MaxMessage), errdefs.ErrUnavailable)
}

// Kill sends a signal to the container's init process.
func (m *Manager) Kill(ctx context.Context, ref, signal string) error {
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	c, run, err := m.liveRun(ctx, ref, OpKill)
	if err != nil {
		return err
	}
	if err := runtimeError(run, "kill", runtimeFor(run).Kill(ctx, c.rec.ID, int(sig), nil)); err != nil { // ID never changes
		return err
	}
	c.mu.Lock()
	info := c.info()
	c.mu.Unlock()
	m.event(events.Killed, info, signalField(sig))
	return nil
}

func signalField(sig unix.Signal) events.Field {
	return events.Field{Name: events.FieldSignal, Value: strconv.Itoa(int(sig))}
}

// Pause freezes a running container; Unpause thaws it.
func (m *Manager) Pause(ctx context.Context, ref string) error {
	return m.freeze(ctx, ref, OpPause, "pause", (*runc.Runc).Pause, Paused)
}

// Unpause thaws a paused container.
func (m *Manager) Unpause(ctx context.Context, ref string) error {
	return m.freeze(ctx, ref, OpUnpause, "resume", (*runc.Runc).Resume, Running)
}

func (m *Manager) freeze(ctx context.Context, ref string, op Op, verb string, call func(*runc.Runc, context.Context, string) error, to State) error {
	c, err := m.lookup(ref)
	if err != nil {
		return err
	}
	if err := c.lockIdle(ctx); err != nil {
		return err
	}
	if err := Check(c.rec.State, op); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	run := *c.rec.Run
	c.begin(op)
	c.mu.Unlock()
	err = runtimeError(run, verb, call(runtimeFor(run), ctx, c.rec.ID))
	c.mu.Lock()
	c.end()
	if err != nil || !c.rec.State.Live() || c.rec.Run == nil || c.rec.Run.ID != run.ID {
		// On success the run ended meanwhile: its exit stands.
		c.mu.Unlock()
		return err
	}
	c.rec.State = to
	if err := m.save(c); err != nil {
		m.log.Error("cannot save container record", "container", c.rec.ID, "err", err)
	}
	info := c.info()
	c.mu.Unlock()
	k := events.Paused
	if op == OpUnpause {
		k = events.Unpaused
	}
	m.event(k, info)
	m.events(Event{Kind: EventChanged, Info: info})
	return nil
}

// Stop asks the monitor to stop the container (stop signal, SIGKILL after
// timeout seconds; nil means the container's own) and waits for the exit.
// Stopping a container that is not running succeeds and does nothing.
func (m *Manager) Stop(ctx context.Context, ref string, timeout *int) (Info, error) {
	return m.StopWith(ctx, ref, StopOptions{Timeout: timeout})
}

// StopOptions tune StopWith and RestartWith.
type StopOptions struct {
	// Timeout is the seconds between the signal and SIGKILL; nil means
	// the container's stop timeout.
	Timeout *int
	// Signal is sent instead of the container's stop signal (docker's
	// stop --signal), in ParseSignal's forms; "" means the stop signal.
	// Only the first stop of a run sends a signal: a stop while one is
	// under way shortens the wait only.
	Signal string
}

// StopWith is Stop with options. A Signal that is no signal is refused
// (errdefs.ErrInvalidArgument, naming it) before anything is done.
func (m *Manager) StopWith(ctx context.Context, ref string, o StopOptions) (Info, error) {
	var sig unix.Signal
	if o.Signal != "" {
		s, err := ParseSignal(o.Signal)
		if err != nil {
			return Info{}, err
		}
		sig = s
	}
	timeout := o.Timeout
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	if err := Check(c.rec.State, OpStop); err != nil {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	if !c.rec.State.Live() {
		info := c.info()
		c.mu.Unlock()
		return info, nil
	}
	t := stopTimeout(c.rec.Spec)
	if timeout != nil {
		t = *timeout
	}
	run := *c.rec.Run
	exited := c.exited
	c.rec.Stopped = true
	sent := sig // what the monitor sends: sig, or the stop signal
	if sent == 0 {
		sent = unix.SIGTERM
		if s, err := ParseSignal(c.rec.Spec.StopSignal); c.rec.Spec.StopSignal != "" && err == nil {
			sent = s
		}
	}
	info := c.info()
	c.mu.Unlock()
	// As docker's stop: kill (the stop signal), die, stop.
	m.event(events.Killed, info, signalField(sent))
	conn, err := contract.Call(ctx, run.RunDir, contract.Request{Op: contract.OpStop, Timeout: t, Signal: int(sig)}, 10*time.Second)
	if err != nil && !m.monitorAlive(ctx, run) {
		// The monitor was killed: berthd ends the run itself.
		m.endOrphan(ctx, c, run, t, sig)
	} else if err != nil {
		// The run has ended or is ending; reconcile decides.
		m.reconcile(ctx, c, nil)
	} else {
		conn.Close()
	}
	wait := time.Duration(t+15) * time.Second
	select {
	case <-exited:
	case <-time.After(wait):
		m.reconcile(ctx, c, nil)
		select {
		case <-exited:
		default:
			return Info{}, fmt.Errorf("container %s did not stop within %s: %w", c.rec.Name, wait, errdefs.ErrUnavailable)
		}
	case <-ctx.Done():
		return Info{}, ctx.Err()
	}
	// As docker's stop: the run's network is gone when it returns.
	m.detachNetwork(ctx, c.rec.ID, run.ID)
	c.mu.Lock()
	info = c.info()
	c.mu.Unlock()
	m.event(events.Stopped, info)
	return info, nil
}

// Restart stops the container if it runs, waits for its scope to go and
// starts it again.
func (m *Manager) Restart(ctx context.Context, snap *config.Snapshot, ref string, timeout *int) (Info, error) {
	return m.RestartWith(ctx, snap, ref, StopOptions{Timeout: timeout})
}

// RestartWith is Restart with the stop's options; errors as StopWith's
// and Start's.
func (m *Manager) RestartWith(ctx context.Context, snap *config.Snapshot, ref string, o StopOptions) (Info, error) {
	if o.Signal != "" {
		if _, err := ParseSignal(o.Signal); err != nil {
			return Info{}, err
		}
	}
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	err = Check(c.rec.State, OpRestart)
	id := c.rec.ID
	c.mu.Unlock()
	if err != nil {
		return Info{}, err
	}
	c.restarts.Lock()
	defer c.restarts.Unlock()
	if _, err := m.StopWith(ctx, id, o); err != nil {
		return Info{}, err
	}
	info, err := m.Start(ctx, snap, id, StartOptions{})
	if err == nil {
		m.event(events.UserRestarted, info)
	}
	return info, err
}

// Wait blocks until the container's current run has ended, or an attempt
// of it that its restart policy restarts, and returns that exit code (as
// docker's wait, which a restart releases; a container waiting to be
// restarted counts as running). A container that is not running returns
// at once.
func (m *Manager) Wait(ctx context.Context, ref string) (int, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	exited := c.exited
	if c.attempt == nil {
		c.attempt = make(chan struct{})
	}
	attempt := c.attempt
	c.mu.Unlock()
	select {
	case <-exited:
	case <-attempt:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.ExitCode, nil
}

// Remove deletes a container that is not running; force stops it first
// with SIGKILL. The container is marked busy while its scope goes and its
// root file system is unmounted, so a start meanwhile waits and then finds
// no container.
func (m *Manager) Remove(ctx context.Context, ref string, force bool) error {
	return m.RemoveWith(ctx, ref, RemoveOptions{Force: force})
}

// RemoveOptions tune RemoveWith.
type RemoveOptions struct {
	Force bool // stop a running container with SIGKILL first
	// Volumes removes the container's anonymous volumes that no other
	// container uses (docker's rm -v).
	Volumes bool
}

// RemoveWith is Remove with options.
func (m *Manager) RemoveWith(ctx context.Context, ref string, o RemoveOptions) error {
	force := o.Force
	c, err := m.lookup(ref)
	if err != nil {
		return err
	}
	op := OpRemove
	if force {
		op = OpForceRemove
	}
	if err := c.lockIdle(ctx); err != nil {
		return err
	}
	err = Check(c.rec.State, op)
	live := c.rec.State.Live()
	id, name := c.rec.ID, c.rec.Name
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if live {
		zero := 0
		if _, err := m.Stop(ctx, id, &zero); err != nil {
			return err
		}
	}
	if err := c.lockIdle(ctx); err != nil {
		return err
	}
	if c.gone {
		c.mu.Unlock()
		return nil
	}
	if c.rec.State.Live() {
		c.mu.Unlock()
		return fmt.Errorf("container %s: started again while being removed: %w", name, errdefs.ErrConflict)
	}
	c.begin(op)
	c.mu.Unlock()
	// The monitor of the last run may still be deleting the runtime's
	// state after recording the exit: let it finish first.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = m.units.WaitGone(wctx, UnitName(id))
	wcancel()
	m.detachNetwork(ctx, id, "")
	if err == nil {
		err = unmountRootfs(m.containerDir(id))
	}
	c.mu.Lock()
	if err != nil {
		c.end()
		c.mu.Unlock()
		return fmt.Errorf("container %s: %w", name, err)
	}
	c.gone = true
	info := c.info()
	c.end()
	c.mu.Unlock()
	m.forget(id)
	if info.Run != nil {
		m.deleteRuntimeState(ctx, id, *info.Run)
	}
	// The record goes first: a crash from here on leaves directories
	// without a record, which Load removes.
	os.Remove(filepath.Join(m.containerDir(id), "container.json"))
	m.releaseVolumes(id, info.Spec.MountPoints, o.Volumes)
	os.RemoveAll(m.runDir(id))
	if err := os.RemoveAll(m.containerDir(id)); err != nil {
		return fmt.Errorf("container %s: %w", info.Name, err)
	}
	m.event(events.Removed, info)
	m.events(Event{Kind: EventRemoved, Info: info})
	return nil
}

// Attach connects to the running payload's stdio. The returned file is a
// stream (package stream) to hand to the client.
func (m *Manager) Attach(ctx context.Context, ref string, stdin bool) (*os.File, error) {
	_, run, err := m.liveRun(ctx, ref, OpAttach)
	if err != nil {
		return nil, err
	}
	conn, err := contract.Call(ctx, run.RunDir, contract.Request{Op: contract.OpAttach, Stdin: stdin}, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("attach: %v: %w", err, errdefs.ErrUnavailable)
	}
	defer conn.Close()
	return conn.File()
}

// ExecOptions describe a process to run in a container.
type ExecOptions struct {
	Cmd     []string
	Env     []string
	Workdir string
	User    string
	TTY     bool
	Stdin   bool
	// ConsoleSize is the TTY's [height, width] when the process starts.
	ConsoleSize [2]uint
}

// Exec starts a process in a running container through its monitor (so it
// outlives berthd) and returns its stream.
func (m *Manager) Exec(ctx context.Context, ref string, o ExecOptions) (*os.File, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	c, run, err := m.liveRun(ctx, ref, OpExec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	spec := c.rec.Spec
	c.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(run.RunDir, "bundle", "config.json"))
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("exec: bundle: %w", err)
	}
	p := *s.Process
	p.Args = o.Cmd
	p.Terminal = o.TTY
	p.ConsoleSize = nil
	if o.TTY && o.ConsoleSize[0] > 0 && o.ConsoleSize[1] > 0 {
		p.ConsoleSize = &specs.Box{Height: o.ConsoleSize[0], Width: o.ConsoleSize[1]}
	}
	p.Env = mergeEnv(p.Env, o.Env)
	if o.TTY {
		p.Env = append(p.Env, "TERM=xterm")
	}
	if o.Workdir != "" {
		p.Cwd = o.Workdir
	}
	if o.User != "" {
		// The container's options (capabilities, groups) with the
		// other user, as its own process has them.
		es := spec
		es.Entrypoint, es.Cmd, es.User, es.Init = nil, o.Cmd, o.User, false
		ps, err := buildSpec(&es, "")
		if err != nil {
			return nil, err
		}
		p.User = ps.Process.User
		p.Capabilities = ps.Process.Capabilities
	}
	pj, _ := json.Marshal(p)
	conn, err := contract.Call(ctx, run.RunDir, contract.Request{Op: contract.OpExec, Stdin: o.Stdin, TTY: o.TTY, Process: pj}, 30*time.Second)
	if err != nil {
		return nil, startError(s.Root.Path, &p, "exec: "+err.Error())
	}
	defer conn.Close()
	return conn.File()
}
