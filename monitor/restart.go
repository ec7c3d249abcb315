package monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/stream"
	"github.com/berthd/berth/systemd"
	runc "github.com/containerd/go-runc"
)

// Docker's restart back-off: the first restart waits minBackoff, each
// next one twice as long up to maxBackoff; an attempt that ran resetAfter
// or longer starts the sequence again.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = time.Minute
	resetAfter = 10 * time.Second
)

// shouldRestart reports whether policy p restarts a payload that exited
// with code after count restarts. A stop by the user (stopped) never
// restarts; on-failure only restarts a non-zero exit, at most
// MaximumRetryCount times when that is set.
func shouldRestart(p contract.RestartPolicy, code int, stopped bool, count int) bool {
	if stopped {
		return false
	}
	switch p.Name {
	case contract.RestartAlways, contract.RestartUnlessStopped:
		return true
	case contract.RestartOnFailure:
		return code != 0 && (p.MaximumRetryCount <= 0 || count < p.MaximumRetryCount)
	}
	return false
}

// backoff is the delay before the next restart.
type backoff struct{ delay time.Duration }

// next returns the wait before restarting an attempt that ran for ran.
func (b *backoff) next(ran time.Duration) time.Duration {
	switch {
	case b.delay == 0 || ran >= resetAfter:
		b.delay = minBackoff
	default:
		b.delay = min(2*b.delay, maxBackoff)
	}
	return b.delay
}

// policy is the run's current restart policy (OpUpdate changes it).
func (m *mon) policy() contract.RestartPolicy {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Restart
}

// setPolicy is OpUpdate.
func (m *mon) setPolicy(p contract.RestartPolicy) {
	m.mu.Lock()
	m.cfg.Restart = p
	m.mu.Unlock()
}

// payload is the running attempt of the payload, nil while the monitor
// waits to restart it.
func (m *mon) payload() *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.main
}

// supervise waits for the payload s (started at started) to exit and, as
// long as the restart policy says so, starts it again in the scope after
// the back-off. It returns the exit code of the last attempt. A stop
// request (m.stopping) ends the waits and prevents any further start.
func (m *mon) supervise(ctx context.Context, s *session, started time.Time, waitAttach func()) int {
	var bo backoff
	for first := true; ; first = false {
		wa := func() {}
		if first {
			wa = waitAttach
		}
		code := m.awaitAttempt(s, wa)
		ended := time.Now()
		m.spawnMu.Lock()
		// A restart asked by --health-on-failure restart (health.go)
		// comes at once, whatever the policy.
		asked := m.restartAsked.CompareAndSwap(true, false) && !m.stopping.Load()
		if !asked && !shouldRestart(m.policy(), code, m.stopping.Load(), m.restarts) {
			m.spawnMu.Unlock()
			return code
		}
		m.mu.Lock()
		m.main = nil
		m.mu.Unlock()
		m.spawnMu.Unlock()
		m.endAttempt(code)
		delay := bo.next(ended.Sub(started))
		if asked {
			delay = 0
		}
		m.restartState(contract.Restart{Restarting: true, ExitCode: code, FinishedAt: ended.UTC()})
		if !m.notify(m.notice(contract.NoticeRestarting, code, ended, 0, time.Time{})) {
			m.jlog.died(code)
		}
		if err := m.rt.Delete(ctx, m.cfg.ID, &runc.DeleteOpts{Force: true}); err != nil {
			m.jlog.event(systemd.PriWarning, "runtime delete: "+contract.Cut(err.Error(), contract.MaxMessage))
		}
		select {
		case <-time.After(delay):
		case <-m.stopRequested:
		}
		m.spawnMu.Lock()
		if m.stopping.Load() {
			m.spawnMu.Unlock()
			return code
		}
		next, err := m.spawn(ctx, nil, m.cfg.Stdin, m.cfg.TTY, "init")
		if err != nil {
			m.spawnMu.Unlock()
			m.jlog.event(systemd.PriErr, "cannot restart: "+err.Error())
			return code
		}
		m.restarts++
		started = time.Now()
		m.mu.Lock()
		m.main = next
		m.mu.Unlock()
		m.spawnMu.Unlock()
		s = next
		if m.health != nil {
			m.health.begin()
		}
		m.restartState(contract.Restart{Pid: s.pid, StartedAt: started.UTC(), ExitCode: code, FinishedAt: ended.UTC()})
		if !m.notify(m.notice(contract.NoticeRestarted, code, ended, s.pid, started)) {
			m.jlog.restarted(m.restarts)
		}
	}
}

// awaitAttempt pumps the output of one attempt of the payload until it
// exits and returns its exit code; waitAttach holds the end of the pumps
// back until the first client attached (see run).
func (m *mon) awaitAttempt(s *session, waitAttach func()) int {
	var pumps sync.WaitGroup
	for _, o := range s.outputs {
		pumps.Go(func() {
			waitAttach()
			m.pumpMain(o)
		})
	}
	code := (<-m.reaper.wait(s.pid)).Status
	waitAttach()
	waitTimeout(&pumps, 2*time.Second)
	if s.stdin != nil {
		s.stdin.Close()
	}
	return code
}

// endAttempt ends the attach sessions of an attempt that is restarted:
// they get its exit code, as when the container stops.
func (m *mon) endAttempt(code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.clients {
		c.w.WriteInt(stream.Exit, int32(code))
		c.conn.Close()
		delete(m.clients, c)
	}
}

// notice is a restart notice for berthd.
func (m *mon) notice(kind string, code int, ended time.Time, pid int, started time.Time) contract.Exit {
	return contract.Exit{
		Version: contract.FormatVersion, ID: m.cfg.ID, Run: m.cfg.Run, RunID: m.cfg.RunID, BootID: m.cfg.BootID,
		Notice: kind, ExitCode: code, FinishedAt: ended.UTC(), Pid: pid, StartedAt: started.UTC(), RestartCount: m.restarts,
	}
}

// restartState writes restart.json for a berthd that misses the notices.
func (m *mon) restartState(r contract.Restart) {
	if m.cfg.AutoRemove {
		return
	}
	r.Version, r.ID, r.Run, r.RestartCount = contract.FormatVersion, m.cfg.ID, m.cfg.Run, m.restarts
	if err := atomicfile.WriteJSON(contract.RestartPath(m.cfg.ContainerDir), r, 0o644); err != nil {
		m.jlog.event(systemd.PriErr, "cannot record the restart: "+err.Error())
	}
}

// restarted is the restart event, written by the monitor when no berthd
// took its notice (berthd is not started for it).
func (j *journalLogger) restarted(count int) {
	events.Emit(events.Restarted, "berth-monitor", fmt.Sprintf("container %s restarted (restart %d)", j.containerName(), count),
		append(events.ContainerWith(j.cfg.ID, j.containerName(), j.cfg.Image, j.cfg.Labels), events.Field{Name: "RESTART_COUNT", Value: fmt.Sprint(count)})...)
}
