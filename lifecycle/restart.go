package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
)

// RestartPolicy is docker's HostConfig.RestartPolicy; the monitor carries
// it out (see package monitor).
type RestartPolicy = contract.RestartPolicy

// ParseRestartPolicy reads docker's --restart value: no, always,
// unless-stopped, on-failure or on-failure:MAX. The result is checked as
// CheckRestartPolicy does (InvalidArgument, naming the value).
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, max, hasMax := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	if hasMax {
		n, err := strconv.Atoi(max)
		if err != nil {
			return RestartPolicy{}, invalid("restart policy %s: the maximum retry count must be an integer", quote(s))
		}
		if name != contract.RestartOnFailure {
			return RestartPolicy{}, invalid("restart policy %s: a maximum retry count can only be used with %q", quote(s), contract.RestartOnFailure)
		}
		p.MaximumRetryCount = n
	}
	if err := CheckRestartPolicy(p); err != nil {
		return RestartPolicy{}, err
	}
	return p, nil
}

// CheckRestartPolicy refuses what docker refuses: an unknown name, a
// negative maximum retry count, or one with another policy than
// on-failure (InvalidArgument).
func CheckRestartPolicy(p RestartPolicy) error {
	switch p.Name {
	case "", contract.RestartNo, contract.RestartAlways, contract.RestartUnlessStopped:
		if p.MaximumRetryCount != 0 {
			return invalid("restart policy %q: a maximum retry count can only be used with %q", p.Name, contract.RestartOnFailure)
		}
	case contract.RestartOnFailure:
		if p.MaximumRetryCount < 0 {
			return invalid("restart policy %s:%d: the maximum retry count cannot be negative", p.Name, p.MaximumRetryCount)
		}
	default:
		return invalid("restart policy %s: unknown; use one of no, always, on-failure[:MAX] or unless-stopped", quote(p.Name))
	}
	return nil
}

// restarts reports whether p restarts the payload at all.
func restarts(p RestartPolicy) bool { return p.Name != "" && p.Name != contract.RestartNo }

// checkRestart checks a spec's restart policy at create: a valid policy,
// and none with auto-remove (docker's "Conflicting options").
func checkRestart(s *Spec) error {
	if err := CheckRestartPolicy(s.RestartPolicy); err != nil {
		return err
	}
	if s.AutoRemove && restarts(s.RestartPolicy) {
		return invalid("conflicting options: restart policy %q and auto-remove (--rm)", s.RestartPolicy.Name)
	}
	return nil
}

// applyRestart applies a monitor's restart notice (or its restart.json) to
// the container's live run: NoticeRestarting makes it restarting with the
// ended attempt's exit code, NoticeRestarted running again as the new
// pid. A notice of another run, or older than what the record has, changes
// nothing. It writes the die or restart event, unless logged: the monitor
// wrote them (its notices found no berthd).
func (m *Manager) applyRestart(id string, ex contract.Exit, logged bool) {
	m.mu.Lock()
	c := m.containers[id]
	m.mu.Unlock()
	if c == nil {
		return
	}
	restarting := ex.Notice == contract.NoticeRestarting
	c.mu.Lock()
	if !c.rec.State.Live() || c.rec.Run == nil || !c.rec.Run.owns(ex) ||
		restartStep(restarting, ex.RestartCount) <= restartStep(c.rec.State == Restarting, c.rec.RestartCount) {
		// Another run's, or known already, or older than what the
		// record has (a restart.json read before a later notice).
		c.mu.Unlock()
		return
	}
	c.rec.RestartCount = ex.RestartCount
	c.rec.ExitCode = ex.ExitCode
	c.rec.FinishedAt = ex.FinishedAt
	if restarting {
		c.rec.State = Restarting
		c.rec.Pid = 0
		if c.attempt != nil {
			close(c.attempt)
		}
		c.attempt = make(chan struct{})
	} else {
		c.rec.State = Running
		c.rec.Pid = ex.Pid
		if !ex.StartedAt.IsZero() {
			c.rec.Run.StartedAt = ex.StartedAt
		}
	}
	if err := m.save(c); err != nil {
		m.log.Error("cannot save container record", "container", id, "err", err)
	}
	info := c.info()
	c.mu.Unlock()
	switch {
	case logged:
	case restarting:
		m.log.Info("container exited; its restart policy restarts it", "container", id, "exit_code", ex.ExitCode, "restart_count", ex.RestartCount)
		m.event(events.Died, info, events.ExitCode(ex.ExitCode))
	default:
		m.event(events.Restarted, info, events.Field{Name: "RESTART_COUNT", Value: strconv.Itoa(ex.RestartCount)})
	}
	m.events(Event{Kind: EventChanged, Info: info})
}

// restartStep orders a run's restart states: attempt n runs (step 2n),
// then waits to be restarted (2n+1), then attempt n+1 runs.
func restartStep(restarting bool, count int) int {
	if restarting {
		return 2*count + 1
	}
	return 2 * count
}

// readRestart applies the restart state the run's monitor recorded
// (restart.json): notices berthd acked before the run's start committed
// (logged false), or missed while it was gone (logged: the monitor wrote
// their events then).
func (m *Manager) readRestart(id string, run Run, logged bool) {
	r, err := contract.ReadRestart(m.containerDir(id))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("cannot read the restart state", "container", id, "err", err)
		}
		return
	}
	if r.Run != run.ID {
		return
	}
	kind := contract.NoticeRestarted
	if r.Restarting {
		kind = contract.NoticeRestarting
	}
	m.applyRestart(id, contract.Exit{ID: id, Run: r.Run, Notice: kind, RestartCount: r.RestartCount,
		Pid: r.Pid, StartedAt: r.StartedAt, ExitCode: r.ExitCode, FinishedAt: r.FinishedAt}, logged)
}

// SetRestartPolicy is `update --restart`: it records the container's new
// restart policy and tells a running monitor (which applies it from its
// next exit on). The policy is checked as at create; an auto-remove
// container takes none. Any state but dead.
func (m *Manager) SetRestartPolicy(ctx context.Context, ref string, p RestartPolicy) (Info, error) {
	if err := CheckRestartPolicy(p); err != nil {
		return Info{}, err
	}
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	defer c.mu.Unlock()
	if err := Check(c.rec.State, OpUpdate); err != nil {
		return Info{}, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	if c.rec.Spec.AutoRemove && restarts(p) {
		return Info{}, invalid("container %s: restart policy %q: an auto-remove container (--rm) takes none", c.rec.Name, p.Name)
	}
	c.rec.Spec.RestartPolicy = p
	if err := m.save(c); err != nil {
		return Info{}, fmt.Errorf("container %s: save: %w", c.rec.Name, err)
	}
	if c.rec.State.Live() && c.rec.Run != nil {
		if _, err := contract.Ask(ctx, c.rec.Run.RunDir, contract.Request{Op: contract.OpUpdate, Restart: &p}, 5*time.Second); err != nil {
			// Recorded: the next start has it; this run keeps its own.
			m.log.Warn("cannot tell the monitor the new restart policy", "container", c.rec.ID, "err", err)
		}
	}
	info := c.info()
	go m.events(Event{Kind: EventChanged, Info: info})
	return info, nil
}

// Restore starts, after a boot, the containers that their restart policy
// brings back: always, and unless-stopped unless the user stopped them;
// only containers that ran before (exited ones: a container created and
// never started stays created, as docker's restore).
// berth-restore.service calls it once per boot; berthd never does by
// itself. It returns the names started and the errors of those that could
// not be.
func (m *Manager) Restore(ctx context.Context, snap *config.Snapshot) (started []string, err error) {
	var errs []error
	for _, c := range m.all() {
		c.mu.Lock()
		p, stopped, state, id, name := c.rec.Spec.RestartPolicy, c.rec.Stopped, c.rec.State, c.rec.ID, c.rec.Name
		c.mu.Unlock()
		if state != Exited {
			continue
		}
		if p.Name != contract.RestartAlways && (p.Name != contract.RestartUnlessStopped || stopped) {
			continue
		}
		if _, serr := m.Start(ctx, snap, id, StartOptions{}); serr != nil {
			errs = append(errs, serr)
			continue
		}
		started = append(started, name)
	}
	return started, errors.Join(errs...)
}

// lostRestartDelay is the wait before berthd restarts a container whose
// monitor was lost (restartLost): a monitor killed again and again does
// not make a busy loop.
const lostRestartDelay = time.Second

// restartLost applies the restart policy to a run that ended while its
// monitor was gone (killed): the monitor carries out the policy, so no one
// else would, and docker's daemon restarts a container whose shim died.
// After lostRestartDelay it starts a new run (always; unless-stopped
// unless the user stopped it; on-failure below its maximum, the lost run's
// exit counting as a failure); nothing when berthd has no snapshot source.
func (m *Manager) restartLost(id string) {
	if m.snapshot == nil {
		return
	}
	m.mu.Lock()
	c := m.containers[id]
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	p, stopped, count, state := c.rec.Spec.RestartPolicy, c.rec.Stopped, c.rec.RestartCount, c.rec.State
	c.mu.Unlock()
	switch {
	case state != Exited:
		return
	case p.Name == contract.RestartAlways:
	case p.Name == contract.RestartUnlessStopped && !stopped:
	case p.Name == contract.RestartOnFailure && (p.MaximumRetryCount == 0 || count < p.MaximumRetryCount):
	default:
		return
	}
	end := func() {}
	if m.hold != nil {
		end = m.hold()
	}
	m.log.Warn("the monitor of a container with a restart policy was lost: starting it again", "container", id, "policy", p.Name)
	go func() {
		defer end()
		time.Sleep(lostRestartDelay)
		if _, err := m.Start(context.Background(), m.snapshot(), id, StartOptions{}); err != nil {
			m.log.Error("cannot restart a container whose monitor was lost", "container", id, "err", err)
		}
	}()
}
