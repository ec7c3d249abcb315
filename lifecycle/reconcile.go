package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// scopePattern matches the scope of every container (systemd's glob).
const scopePattern = "berth-*.scope"

// scopeActive reports whether a unit in this ActiveState still has (or is
// about to have) processes.
func scopeActive(st string) bool {
	return st == "active" || st == "activating" || st == "deactivating" || st == "reloading"
}

// loaded is one container directory as Load found it.
type loaded struct {
	id  string
	rec *Record // nil: no record (a create or remove that died) or unreadable
	bad bool    // a record that cannot be read: left alone
}

// Load creates the directories, reads every record (in parallel) and
// reconciles it with exit records and with one listing of systemd's
// berth-*.scope units, and starts listening for monitors' exit notices.
// What waits is done in the background and marks the containers it
// concerns busy until it is done: a start that a crash of berthd
// interrupted (its scope's monitor is adopted, or the scope cleaned), and
// scopes that no record owns (killed, then their directories removed). It
// returns the number of containers whose state changed.
//
// Until Load returns, every call that looks up containers waits (berthd
// answers what needs none, a Ping, before the records are read); if Load
// fails, they fail with its error. Call it once.
func (m *Manager) Load(ctx context.Context) (changed int, err error) {
	defer func() {
		if err != nil {
			m.loadErr = fmt.Errorf("container records: %w", err)
		}
		close(m.ready)
	}()
	t0 := time.Now()
	// For root only (records, runtime state); existing ones are tightened.
	for _, d := range []string{filepath.Join(m.dataRoot, "containers"), filepath.Join(m.execRoot, "containers"), filepath.Join(m.execRoot, "runc")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return 0, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return 0, err
		}
	}
	m.clearExports()
	ents, err := os.ReadDir(filepath.Join(m.dataRoot, "containers"))
	if err != nil {
		return 0, err
	}
	found := m.readRecords(ents)
	tRead := time.Since(t0)
	states, err := m.units.UnitStates(ctx, scopePattern)
	if err != nil {
		// Without systemd's word nothing is declared lost; poll retries.
		m.log.Warn("cannot list the containers' scopes", "err", err)
		states = nil
	}
	tList := time.Since(t0)

	var settle []*container
	var orphans []string
	for _, f := range found {
		if f.bad {
			continue
		}
		if f.rec == nil {
			// A create that died before its record was written, or a
			// remove that died after deleting it: nothing of it may
			// run any more before its directories go.
			if states != nil && scopeActive(states[UnitName(f.id)]) {
				orphans = append(orphans, f.id)
			} else {
				m.removeDirs(f.id)
			}
			continue
		}
		c := &container{rec: *f.rec, exited: make(chan struct{})}
		if !f.rec.State.Live() {
			close(c.exited)
		}
		m.containers[f.id] = c
		m.names[f.rec.Name] = f.id
		m.refVolumes(f.id, f.rec.Spec.MountPoints)
		if f.rec.Next != nil {
			// Settled in the background; the container waits for it.
			c.begin(OpStart)
			settle = append(settle, c)
			continue
		}
		if states != nil && m.reconcile(ctx, c, states) {
			changed++
		}
	}
	for unit, st := range states {
		id := strings.TrimSuffix(strings.TrimPrefix(unit, "berth-"), ".scope")
		if _, ok := m.containers[id]; !ok && scopeActive(st) && !containsString(orphans, id) {
			orphans = append(orphans, id)
		}
	}
	if err := m.listenNotify(ctx); err != nil {
		return changed, err
	}
	m.log.Debug("load", "containers", len(m.containers), "read", tRead, "list_scopes", tList, "total", time.Since(t0),
		"interrupted_starts", len(settle), "orphan_scopes", len(orphans))
	end := func() {}
	if m.hold != nil {
		end = m.hold() // no idle exit before what Load found is settled
	}
	go func() {
		defer end()
		m.settle(ctx, settle, orphans)
	}()
	go m.poll(ctx)
	return changed, nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// readRecords reads the container records of ents, a few at a time.
func (m *Manager) readRecords(ents []os.DirEntry) []loaded {
	out := make([]loaded, len(ents))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(len(ents), 2*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = m.readRecord(ents[i].Name())
			}
		}()
	}
	for i := range ents {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

func (m *Manager) readRecord(id string) loaded {
	b, err := os.ReadFile(filepath.Join(m.containerDir(id), "container.json"))
	if errors.Is(err, os.ErrNotExist) {
		return loaded{id: id}
	}
	if err != nil {
		m.log.Error("unreadable container record, skipped", "container", id, "err", err)
		return loaded{id: id, bad: true}
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		m.log.Error("unreadable container record, skipped", "container", id, "err", err)
		return loaded{id: id, bad: true}
	}
	if rec.Version > RecordVersion {
		m.log.Error("container record from a newer berthd, skipped", "container", id, "version", rec.Version)
		return loaded{id: id, bad: true}
	}
	if rec.ID != id {
		m.log.Error("container record names another container, skipped", "container", id, "record", rec.ID)
		return loaded{id: id, bad: true}
	}
	return loaded{id: id, rec: &rec}
}

// removeDirs unmounts and removes a container's directories; its scope
// must be gone.
func (m *Manager) removeDirs(id string) {
	if err := unmountRootfs(m.containerDir(id)); err != nil {
		m.log.Error("cannot unmount a removed container's root file system", "container", id, "err", err)
		return
	}
	os.RemoveAll(m.containerDir(id))
	os.RemoveAll(m.runDir(id))
}

// settle finishes, in the background, what Load found half done.
func (m *Manager) settle(ctx context.Context, interrupted []*container, orphans []string) {
	var wg sync.WaitGroup
	for _, c := range interrupted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.settleNext(ctx, c)
		}()
	}
	for _, id := range orphans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.cleanOrphanScope(ctx, id)
		}()
	}
	wg.Wait()
	m.reconcileNetworks(ctx)
}

// settleNext decides the fate of a start that a crash of berthd
// interrupted (c.rec.Next, c marked busy by Load): a monitor of that run
// that serves is adopted (the container is running), a run that ended is
// recorded with its exit, a scope without a serving monitor is killed and
// its runtime state deleted, and a run that never got a scope is dropped.
func (m *Manager) settleNext(ctx context.Context, c *container) {
	c.mu.Lock()
	id, next := c.rec.ID, *c.rec.Next
	c.mu.Unlock()
	pid, monitorPID, ex := m.findRun(ctx, id, next)
	c.mu.Lock()
	early := c.early
	c.early = nil
	if pid == 0 && ex == nil {
		m.log.Info("a start interrupted by a restart of berthd launched nothing", "container", id)
		c.rec.Next = nil
		if err := m.save(c); err != nil {
			m.log.Error("cannot save container record", "container", id, "err", err)
		}
		c.end()
		c.mu.Unlock()
		return
	}
	run := next
	run.MonitorPID = monitorPID
	m.commitRun(c, &run, pid, early)
	info := c.info()
	c.end()
	c.mu.Unlock()
	m.log.Info("adopted the run of a start interrupted by a restart of berthd", "container", id, "pid", pid)
	m.event(events.Started, info, events.Field{Name: "UNIT", Value: run.Unit})
	m.events(Event{Kind: EventChanged, Info: info})
	if early != nil {
		m.recordExit(id, *early)
	}
	if ex != nil {
		m.recordExit(id, *ex)
	}
}

// findRun looks for run (recorded as Next) of container id: the payload's
// and the monitor's pid when its monitor serves, its exit when it ended,
// or neither when it never ran (what it left is cleaned).
func (m *Manager) findRun(ctx context.Context, id string, run Run) (pid, monitorPID int, ex *contract.Exit) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if e, err := contract.ReadExit(m.containerDir(id)); err == nil && run.owns(*e) {
			return 0, 0, e
		}
		st, err := m.units.ActiveState(ctx, run.Unit)
		if err != nil {
			m.log.Warn("cannot ask systemd for a scope", "unit", run.Unit, "err", err)
		} else if !scopeActive(st) {
			// No monitor: it got no go-ahead (berthd died first) and
			// left, or it died.
			if m.deleteRuntimeState(ctx, id, run) {
				e := run.exitOf(id, 255)
				return 0, 0, &e
			}
			return 0, 0, nil
		}
		rep, err := contract.Ask(ctx, run.RunDir, contract.Request{Op: contract.OpState}, time.Second)
		if err == nil && rep.Run == run.ID && rep.Pid > 0 {
			return rep.Pid, m.supervisorPID(ctx, run.Unit), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A scope whose monitor does not serve this run: end all of it.
	m.log.Warn("the scope of an interrupted start has no serving monitor: ending it", "unit", run.Unit)
	m.endScope(ctx, run.Unit)
	if m.deleteRuntimeState(ctx, id, run) {
		e := run.exitOf(id, 128+int(unix.SIGKILL))
		return 0, 0, &e
	}
	return 0, 0, nil
}

// cleanOrphanScope ends a scope that no container record owns (its
// create or remove died half-way) and removes what is left of it: the
// runtime's state (with the runtime its monitor.json names) and the
// directories, only once the scope is gone.
func (m *Manager) cleanOrphanScope(ctx context.Context, id string) {
	unit := UnitName(id)
	m.log.Warn("a scope without a container record: ending it", "unit", unit)
	if err := m.endScope(ctx, unit); err != nil {
		m.log.Error("an orphan scope does not go; its directories stay", "unit", unit, "err", err)
		return
	}
	if b, err := os.ReadFile(filepath.Join(m.runDir(id), "monitor.json")); err == nil {
		var cfg contract.Config
		if json.Unmarshal(b, &cfg) == nil && cfg.RuntimePath != "" {
			m.deleteRuntimeState(ctx, id, Run{RuntimePath: cfg.RuntimePath, RuntimeRoot: cfg.RuntimeRoot})
		}
	}
	if _, err := os.Stat(filepath.Join(m.containerDir(id), "container.json")); err == nil {
		return // a record after all (it came back): reconcile owns it
	}
	m.removeDirs(id)
}

// endScope kills every process of a scope and stops it, and waits (up to
// 10 s) until it is gone. The stop matters: a scope whose only process died
// before systemd moved it there (berthd and the monitor it had just forked
// killed together) never becomes populated, so systemd never sees it
// empty, and it stays active with nothing in it until stopped.
func (m *Manager) endScope(ctx context.Context, unit string) error {
	m.units.KillUnit(ctx, unit, unix.SIGKILL)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m.units.StopUnit(ctx, unit)
	return m.units.WaitGone(ctx, unit)
}

// deleteRuntimeState deletes the runtime's state of container id if any
// is left (the monitor that would have deleted it is gone), with the
// run's runtime. It reports whether there was any.
func (m *Manager) deleteRuntimeState(ctx context.Context, id string, run Run) bool {
	if run.RuntimeRoot == "" {
		run.RuntimeRoot = filepath.Join(m.execRoot, "runc")
	}
	if _, err := os.Stat(filepath.Join(run.RuntimeRoot, id)); err != nil {
		return false
	}
	if err := runtimeFor(run).Delete(ctx, id, &runc.DeleteOpts{Force: true}); err != nil {
		m.log.Warn("cannot delete a container's runtime state", "container", id, "err", runtimeError(run, "delete", err))
	}
	return true
}

// supervisorPID returns the monitor's pid from the scope's supervisor
// cgroup, 0 if none is found.
func (m *Manager) supervisorPID(ctx context.Context, unit string) int {
	cg, err := m.units.ControlGroup(ctx, unit)
	if err != nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", cg, "supervisor", "cgroup.procs"))
	if err != nil {
		return 0
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	pid, _ := strconv.Atoi(string(first))
	return pid
}

// inSupervisor reports whether process pid is in the supervisor cgroup of
// scope unit, where only the monitor of the scope's run lives.
func inSupervisor(pid int, unit string) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if path, ok := strings.CutPrefix(s.Text(), "0::"); ok {
			return strings.HasSuffix(path, "/"+unit+"/supervisor")
		}
	}
	return false
}

// monitorAlive reports whether the run's monitor still runs: its
// recorded pid is in the scope's supervisor cgroup (a pid reused by
// another process is not), or, with no pid recorded, some process is.
func (m *Manager) monitorAlive(ctx context.Context, run Run) bool {
	if run.MonitorPID > 0 {
		return inSupervisor(run.MonitorPID, run.Unit)
	}
	return m.supervisorPID(ctx, run.Unit) > 0
}

// reconcile brings a live record in line with its exit record and with
// systemd: states is one listing of the scopes (nil: ask systemd for this
// one). A run whose scope is gone ended: with the exit its monitor
// recorded, or 255 when it recorded none. It reports whether the state
// changed.
func (m *Manager) reconcile(ctx context.Context, c *container, states map[string]string) bool {
	c.mu.Lock()
	if !c.rec.State.Live() || c.rec.Run == nil {
		c.mu.Unlock()
		return false
	}
	id := c.rec.ID
	run := *c.rec.Run
	c.mu.Unlock()
	if ex, err := contract.ReadExit(m.containerDir(id)); err == nil && run.owns(*ex) {
		m.recordExit(id, *ex)
		return true
	}
	lost := run.BootID != m.bootID
	if !lost {
		var st string
		if states != nil {
			st = states[run.Unit]
		} else {
			var err error
			if st, err = m.units.ActiveState(ctx, run.Unit); err != nil {
				return false
			}
		}
		lost = !scopeActive(st)
	}
	if !lost {
		// The run goes on; its monitor may have restarted the payload
		// meanwhile.
		m.readRestart(id, run, true)
		return false
	}
	// What follows deletes the runtime's state by the container's id: only
	// while this run is still the container's, and no start, stop or
	// removal is under way (the next poll looks again).
	if !c.claim(run, OpExit) {
		return false
	}
	defer c.release()
	// The monitor may have written its record just before its scope went.
	if ex, err := contract.ReadExit(m.containerDir(id)); err == nil && run.owns(*ex) {
		m.recordExit(id, *ex)
		return true
	}
	if run.BootID == m.bootID {
		m.deleteRuntimeState(ctx, id, run)
	}
	m.recordExit(id, run.exitOf(id, 255))
	if run.BootID == m.bootID {
		m.restartLost(id)
	}
	return true
}

// listenNotify receives exit notices from monitors on notify.sock, with
// the sender's credentials (SO_PASSCRED).
func (m *Manager) listenNotify(ctx context.Context) error {
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
	raw, err := c.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
		err = errors.Join(cerr, err)
	}
	if err != nil {
		c.Close()
		return fmt.Errorf("notify socket: SO_PASSCRED: %w", err)
	}
	m.mu.Lock()
	closed := m.closed
	m.notifyConn = c
	m.mu.Unlock()
	if closed {
		c.Close()
		return nil
	}
	go func() {
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
		for {
			n, oobn, _, from, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			var hn contract.HealthNotice
			if json.Unmarshal(buf[:n], &hn) == nil && hn.Container != "" {
				m.onHealthNotice(hn, senderOf(oob[:oobn]))
				continue
			}
			var ex contract.Exit
			if json.Unmarshal(buf[:n], &ex) != nil || ex.ID == "" {
				continue
			}
			m.onNotice(ctx, ex, senderOf(oob[:oobn]))
			// A monitor with an address of its own waits for this
			// answer before it exits, so that it is still there to be
			// checked above, however late berthd reads its notice (a
			// --rm run's monitor has little left to do after it).
			if from != nil && from.Name != "" {
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				c.WriteToUnix([]byte(contract.NoticeAck), from)
			}
		}
	}()
	return nil
}

// senderOf returns the credentials of a datagram's sender, nil if none
// came with it.
func senderOf(oob []byte) *unix.Ucred {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
			return cred
		}
	}
	return nil
}

// onNotice applies an exit notice only when it comes from the monitor of
// that run: sent by root, for the container's current (or starting) run,
// with the run's secret, from the supervisor cgroup of the container's
// scope. Anything else changes nothing by itself; the container is
// reconciled from what its scope and the monitor's record on disk say
// (a monitor that has exited since it sent cannot be checked).
func (m *Manager) onNotice(ctx context.Context, ex contract.Exit, cred *unix.Ucred) {
	m.mu.Lock()
	c := m.containers[ex.ID]
	m.mu.Unlock()
	if c == nil {
		return
	}
	pid := 0
	if cred != nil {
		pid = int(cred.Pid)
	}
	c.mu.Lock()
	run := c.rec.Next
	if run == nil || !run.owns(ex) {
		run = c.rec.Run
	}
	c.mu.Unlock()
	// The sender must be in the scope's supervisor cgroup: a monitor
	// waits for berthd's answer to its notice before it exits (see
	// listenNotify), so it is there to be checked.
	if cred == nil || cred.Uid != 0 || !inSupervisor(pid, UnitName(ex.ID)) {
		m.log.Warn("exit notice not from the container's monitor: ignored", "container", ex.ID, "pid", pid)
		go m.reconcile(ctx, c, nil)
		return
	}
	c.mu.Lock()
	ok := run != nil && run.owns(ex) && run.trusts(ex)
	c.mu.Unlock()
	if !ok {
		m.log.Warn("exit notice for another run or without the run's secret: ignored", "container", ex.ID, "pid", pid)
		return
	}
	if ex.Notice != contract.NoticeExit {
		m.applyRestart(ex.ID, ex, false)
		return
	}
	m.recordExit(ex.ID, ex)
}

// poll catches exits whose notice was lost (berthd was busy restarting):
// one listing of the scopes each time.
func (m *Manager) poll(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	// gone are runs whose scope the last poll found gone: their exit is
	// settled from this poll on. A monitor sends its exit notice before its
	// scope goes, but berthd may read it a little later, and a run with
	// --rm leaves no exit record to find meanwhile; settling at once would
	// record 255 for a run whose notice is still on its way.
	gone := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var live []*container
		for _, c := range m.all() {
			c.mu.Lock()
			if c.rec.State.Live() && c.rec.Run != nil {
				live = append(live, c)
			}
			c.mu.Unlock()
		}
		if len(live) == 0 {
			continue
		}
		states, err := m.units.UnitStates(ctx, scopePattern)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, c := range live {
			c.mu.Lock()
			var run Run
			if c.rec.Run != nil {
				run = *c.rec.Run
			}
			key := fmt.Sprintf("%s/%s/%d", c.rec.ID, run.ID, run.Seq)
			c.mu.Unlock()
			if run.BootID == m.bootID && !scopeActive(states[run.Unit]) && !gone[key] {
				seen[key] = true
				continue // the next poll settles it
			}
			m.reconcile(ctx, c, states)
		}
		gone = seen
	}
}

// Close stops listening for notices (also while Load runs).
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	c := m.notifyConn
	m.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (m *Manager) all() []*container {
	if m.wait() != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*container, 0, len(m.containers))
	for _, c := range m.containers {
		out = append(out, c)
	}
	return out
}

// commitRun makes run the container's current run, running payload pid,
// clears the previous run's exit code, and saves the record (unless early says the run was removed already).
// c.mu is held and c is busy with the start.
func (m *Manager) commitRun(c *container, run *Run, pid int, early *contract.Exit) {
	c.rec.Run = run
	c.rec.Next = nil
	c.rec.State = Running
	c.rec.Pid = pid
	c.rec.ExitCode = 0 // as docker: a running container's code is 0, not its last run's
	c.rec.Stopped = false
	c.rec.RestartCount = 0
	c.exited = make(chan struct{})
	if early == nil || !early.Removed {
		if err := m.save(c); err != nil {
			m.log.Error("cannot save container record", "container", c.rec.ID, "err", err)
		}
	}
}

// recordExit applies an exit (from the run's monitor, its record on disk,
// or berthd's own for a run whose monitor is gone) to the run it belongs
// to; an exit of any other run changes nothing.
func (m *Manager) recordExit(id string, ex contract.Exit) {
	m.mu.Lock()
	c := m.containers[id]
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.rec.Next != nil && c.rec.Next.owns(ex) {
		// The run's start has not committed yet: it applies this.
		c.early = &ex
		c.mu.Unlock()
		return
	}
	if !c.rec.State.Live() || c.rec.Run == nil || !c.rec.Run.owns(ex) {
		c.mu.Unlock()
		return
	}
	m.detachLater(id, c.rec.Run.ID)
	c.rec.State = Exited
	c.rec.ExitCode = ex.ExitCode
	c.rec.FinishedAt = ex.FinishedAt
	c.rec.Pid = 0
	c.rec.RestartCount = max(c.rec.RestartCount, ex.RestartCount)
	// A stop of the scope (systemctl stop) is the user's too: an
	// unless-stopped container stays down after a boot, as after
	// berthctl stop.
	if ex.Stopped {
		c.rec.Stopped = true
	}
	exited := c.exited
	removed := ex.Removed || c.rec.Spec.AutoRemove
	if removed {
		c.gone = true
	} else if err := m.save(c); err != nil {
		m.log.Error("cannot save container record", "container", id, "err", err)
	}
	info := c.info()
	c.mu.Unlock()
	m.log.Info("container exited", "container", id, "exit_code", ex.ExitCode)
	if !ex.Logged { // else the monitor wrote it, when berthd was gone
		m.event(events.Died, info, events.ExitCode(ex.ExitCode))
	}
	// Waiters (a stop) wake after the died event, so that their own
	// events (stop) follow it in the journal, as docker's order.
	close(exited)
	m.events(Event{Kind: EventChanged, Info: info})
	if removed {
		m.event(events.Removed, info)
		m.forget(id)
		m.releaseVolumes(id, info.Spec.MountPoints, true) // --rm takes its anonymous volumes, as docker
		m.events(Event{Kind: EventRemoved, Info: info})
		// The monitor removes the directories once it is done with the
		// runtime; after a lost monitor, do it here, but only once the
		// scope (so anything that could use them) is gone: never under
		// a running payload.
		unit := info.Unit()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := m.units.WaitGone(ctx, unit); err != nil {
				m.log.Error("the scope of a removed container does not go; its directories stay", "container", id, "err", err)
				return
			}
			m.removeDirs(id)
		}()
	}
}

// endOrphan stops a run whose monitor is gone (killed) through the
// runtime, as the monitor would: signal (0: the container's stop signal;
// the container thawed), SIGKILL to all of it after timeout seconds; then it deletes the
// runtime's state, ends the scope and records the exit. The payload's
// status is lost with its reaper, so the exit code is 128 + the signal
// that ended it, as for a payload that does not catch it, or 255 (as
// for any run whose status is unknown) when it had ended already.
func (m *Manager) endOrphan(ctx context.Context, c *container, run Run, timeout int, signal unix.Signal) {
	// The runtime id and the scope's name are shared by every run of the
	// container: act only while run is still its live run, as a
	// transition of its own, so that no start of a next run interleaves.
	if err := c.lockIdle(ctx); err != nil {
		return
	}
	id := c.rec.ID
	if !c.current(run) {
		c.mu.Unlock()
		return
	}
	c.begin(OpStop)
	c.mu.Unlock()
	defer c.release()
	// A monitor that ended normally recorded the exit before it went.
	if ex, err := contract.ReadExit(m.containerDir(id)); err == nil && run.owns(*ex) {
		m.recordExit(id, *ex)
		return
	}
	if m.monitorAlive(ctx, run) {
		return
	}
	rt := runtimeFor(run)
	m.log.Warn("the container's monitor is gone: stopping the payload through the runtime", "container", id, "unit", run.Unit)
	payload := ""
	if cg, err := m.units.ControlGroup(ctx, run.Unit); err == nil {
		payload = filepath.Join("/sys/fs/cgroup", cg, "container")
	}
	code := 128 + int(unix.SIGKILL)
	if payload == "" || waitEmpty(ctx, payload, 0) {
		// The payload has ended already (a TTY payload dies of its
		// terminal's hang-up when the monitor goes, and its scope with
		// it): nothing to signal or wait for, and its status went with
		// its reaper.
		code = 255
	} else if timeout > 0 {
		sig := unix.SIGTERM
		if signal != 0 {
			sig = signal
		} else if c.rec.Spec.StopSignal != "" {
			if s, err := ParseSignal(c.rec.Spec.StopSignal); err == nil {
				sig = s
			}
		}
		rt.Kill(ctx, id, int(sig), nil)
		rt.Resume(ctx, id) // a paused container acts on the signal once thawed
		if waitEmpty(ctx, payload, time.Duration(timeout)*time.Second) {
			code = 128 + int(sig)
		}
	}
	if code == 128+int(unix.SIGKILL) {
		rt.Kill(ctx, id, int(unix.SIGKILL), &runc.KillOpts{All: true})
		waitEmpty(ctx, payload, 5*time.Second)
	}
	m.deleteRuntimeState(ctx, id, run)
	// Whatever else is left in the scope goes with it.
	if err := m.endScope(ctx, run.Unit); err != nil {
		m.log.Warn("the scope of a container whose monitor is gone does not go", "unit", run.Unit, "err", err)
	}
	m.recordExit(id, run.exitOf(id, code))
}

// waitEmpty waits up to d for the cgroup dir to hold no process; a cgroup
// that is gone (or unknown: dir "") is empty when d has passed.
func waitEmpty(ctx context.Context, dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
			if err != nil || bytes.Contains(b, []byte("populated 0")) {
				return true
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return dir == ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}
