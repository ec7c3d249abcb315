package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// health runs a container's healthcheck with docker's rules: the first
// check one interval after the start (StartInterval apart during the
// start period), a check killed after Timeout, failures in the start
// period not counted while the status is starting, Retries failures in a
// row make the container unhealthy, one success makes it healthy. The
// state is written to health.json after every check; a change of status
// is a health_status event and a notice to berthd. Checks (the periodic
// ones and OpHealthcheck's) run one at a time.
type health struct {
	m  *mon
	hc contract.Healthcheck

	run   sync.Mutex // held for a whole check
	mu    sync.Mutex // guards the fields below
	since time.Time  // the payload's start: the start period counts from it
	state contract.Health
	proc  *specs.Process // the payload's process, the base of each check's
}

// newHealth returns the healthcheck of the run, nil if it has none.
func newHealth(m *mon) *health {
	if m.cfg.Healthcheck == nil || len(m.cfg.Healthcheck.Cmd) == 0 {
		return nil
	}
	return &health{m: m, hc: *m.cfg.Healthcheck}
}

// begin resets the state to starting for a payload that has just started
// and writes it.
func (h *health) begin() {
	h.mu.Lock()
	h.since = time.Now()
	h.state = contract.Health{Version: contract.FormatVersion, Run: h.m.cfg.Run, Status: contract.HealthStarting, Log: []contract.HealthResult{}}
	st := h.state
	h.mu.Unlock()
	h.save(st)
}

// loop checks until the payload has exited for good.
func (h *health) loop(ctx context.Context) {
	for {
		select {
		case <-h.m.exited:
			return
		case <-time.After(h.nextInterval()):
		}
		// A paused (frozen) payload cannot run a check: no check is
		// made, so a pause neither fails one nor sets off the action on
		// failure.
		if h.m.paused() {
			continue
		}
		h.check(ctx)
	}
}

// paused reports whether the payload's cgroup is frozen (berthctl pause).
func (m *mon) paused() bool {
	if m.cgroup == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(m.cgroup, "container", "cgroup.events"))
	return err == nil && strings.Contains(string(b), "frozen 1")
}

// nextInterval is the wait before the next periodic check: StartInterval
// while the status is starting inside the start period, else Interval.
func (h *health) nextInterval() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hc.StartPeriod > 0 && h.state.Status == contract.HealthStarting && time.Since(h.since) < h.hc.StartPeriod {
		return h.hc.StartInterval
	}
	return h.hc.Interval
}

// check runs one check, applies its result and returns it with the
// status after it.
func (h *health) check(ctx context.Context) (contract.HealthResult, string) {
	h.run.Lock()
	defer h.run.Unlock()
	res := h.probe(ctx)
	// A check cut short by a pause (the runtime refuses an exec into a
	// frozen container) counts for nothing.
	if res.ExitCode != 0 && h.m.paused() {
		h.mu.Lock()
		st := h.state.Status
		h.mu.Unlock()
		return res, st
	}
	h.mu.Lock()
	before := h.state.Status
	applyResult(&h.state, res, h.hc, h.since)
	st := h.state
	st.Log = append([]contract.HealthResult(nil), st.Log...)
	h.mu.Unlock()
	h.save(st)
	if st.Status != before {
		h.changed(ctx, st.Status)
	}
	return res, st.Status
}

// applyResult applies one check's result to the state, as docker's
// handleProbeResult: success resets the streak and makes it healthy; a
// failure counts unless the status is still starting and the check began
// inside the start period; Retries failures in a row make it unhealthy.
// The log keeps the last MaxHealthLog results.
func applyResult(st *contract.Health, res contract.HealthResult, hc contract.Healthcheck, since time.Time) {
	switch {
	case res.ExitCode == 0:
		st.FailingStreak = 0
		st.Status = contract.HealthHealthy
	case hc.StartPeriod > 0 && st.Status == contract.HealthStarting && res.Start.Sub(since) < hc.StartPeriod:
	default:
		st.FailingStreak++
		if st.FailingStreak >= hc.Retries {
			st.Status = contract.HealthUnhealthy
		}
	}
	st.Log = append(st.Log, res)
	if n := len(st.Log); n > contract.MaxHealthLog {
		st.Log = append([]contract.HealthResult(nil), st.Log[n-contract.MaxHealthLog:]...)
	}
}

// save writes the state to health.json; the file is the one berthd reads.
func (h *health) save(st contract.Health) {
	if err := atomicfile.WriteJSON(contract.HealthPath(h.m.cfg.ContainerDir), st, 0o644); err != nil {
		h.m.jlog.event(systemd.PriWarning, "cannot record health: "+err.Error())
	}
}

// changed writes the health_status event, tells a running berthd and
// carries out the action on failure.
func (h *health) changed(ctx context.Context, status string) {
	events.Emit(events.HealthStatus(status), "berth-monitor", fmt.Sprintf("container %s is %s", h.m.jlog.containerName(), status),
		append(events.ContainerWith(h.m.cfg.ID, h.m.jlog.containerName(), h.m.cfg.Image, h.m.cfg.Labels), events.Field{Name: events.FieldHealthStatus, Value: status})...)
	h.notify(status)
	if status != contract.HealthUnhealthy {
		return
	}
	switch h.hc.OnFailure {
	case contract.HealthActionKill:
		h.m.jlog.event(systemd.PriWarning, "unhealthy: killing it (--health-on-failure kill)")
		h.m.rt.Kill(ctx, h.m.cfg.ID, int(unix.SIGKILL), &runc.KillOpts{All: true})
	case contract.HealthActionStop:
		h.m.jlog.event(systemd.PriWarning, "unhealthy: stopping it (--health-on-failure stop)")
		h.m.stop(ctx, h.m.cfg.StopTimeout, 0)
	case contract.HealthActionRestart:
		h.m.jlog.event(systemd.PriWarning, "unhealthy: restarting it (--health-on-failure restart)")
		h.m.restartPayload(ctx)
	}
}

// notify tells a running berthd that the status changed, so that it
// signals the Health property; a berthd that is gone reads health.json
// when asked. Best effort: one datagram, no answer.
func (h *health) notify(status string) {
	if h.m.cfg.NotifySocket == "" {
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: h.m.cfg.NotifySocket, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	b, _ := json.Marshal(contract.HealthNotice{Version: contract.FormatVersion, Container: h.m.cfg.ID, Run: h.m.cfg.Run, Secret: h.m.cfg.Secret, Status: status})
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(b)
}

// process is the payload's process from the bundle, read once: a check
// runs with its user, environment, directory and capabilities.
func (h *health) process() (*specs.Process, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		return h.proc, nil
	}
	b, err := os.ReadFile(filepath.Join(h.m.cfg.Bundle(), "config.json"))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, fmt.Errorf("bundle has no process")
	}
	h.proc = s.Process
	return h.proc, nil
}

// probe runs the check's command through the runtime's exec and returns
// its result: exit code and the first MaxHealthOutput bytes of its
// output (stdout and stderr together), or -1 with the reason when it
// could not run or ran out of time (it is killed then).
func (h *health) probe(ctx context.Context) contract.HealthResult {
	res := contract.HealthResult{Start: time.Now()}
	fail := func(msg string) contract.HealthResult {
		res.End, res.ExitCode, res.Output = time.Now(), -1, msg
		return res
	}
	base, err := h.process()
	if err != nil {
		return fail("healthcheck: " + err.Error())
	}
	p := *base
	p.Args = h.hc.Cmd
	p.Terminal = false
	p.ConsoleSize = nil
	tag := "health" + strconv.FormatInt(h.m.execSeq.Add(1), 10)
	s, err := h.m.spawn(ctx, &p, false, false, tag)
	if err != nil {
		return fail(err.Error())
	}
	defer s.close()
	exited := h.m.reaper.wait(s.pid)
	out := &capped{max: contract.MaxHealthOutput}
	var pumps sync.WaitGroup
	for _, o := range s.outputs {
		pumps.Add(1)
		go func(o output) {
			defer pumps.Done()
			out.Write(o.early)
			buf := make([]byte, 8<<10)
			for {
				n, err := o.r.Read(buf)
				out.Write(buf[:n])
				if err != nil {
					return
				}
			}
		}(o)
	}
	timer := time.NewTimer(h.hc.Timeout)
	defer timer.Stop()
	select {
	case e := <-exited:
		res.ExitCode = e.Status
	case <-timer.C:
		unix.Kill(s.pid, unix.SIGKILL)
		<-exited
		waitTimeout(&pumps, time.Second)
		return fail(fmt.Sprintf("Health check exceeded timeout (%v)", h.hc.Timeout))
	}
	// A process the check left behind may hold the pipes open.
	waitTimeout(&pumps, time.Second)
	res.End = time.Now()
	res.Output = out.String()
	return res
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		if len(p) > room {
			c.b.Write(p[:room])
		} else {
			c.b.Write(p)
		}
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// serveHealthcheck answers OpHealthcheck: one check at once.
func (m *mon) serveHealthcheck(ctx context.Context) contract.Reply {
	if m.health == nil {
		return contract.Reply{Error: "container has no healthcheck"}
	}
	select {
	case <-m.exited:
		return contract.Reply{Error: "container is not running"}
	default:
	}
	res, status := m.health.check(ctx)
	return contract.Reply{Pid: pidOf(m.payload()), Health: &res, Status: status}
}

// restartPayload stops the payload for a restart in the same scope (its
// stop signal, SIGKILL after the stop timeout); the main loop starts it
// again when it has exited (supervise, at once and whatever the restart
// policy). A stop asked for meanwhile wins.
func (m *mon) restartPayload(ctx context.Context) {
	s := m.payload()
	if s == nil || m.stopping.Load() || !m.restartAsked.CompareAndSwap(false, true) {
		return // none runs (it waits to be restarted), or a stop or restart is under way
	}
	pid := s.pid
	sig := m.cfg.StopSignal
	if sig <= 0 {
		sig = int(unix.SIGTERM)
	}
	m.rt.Kill(ctx, m.cfg.ID, sig, nil)
	m.rt.Resume(ctx, m.cfg.ID)
	go func() {
		deadline := time.Now().Add(time.Duration(m.cfg.StopTimeout) * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		m.rt.Kill(ctx, m.cfg.ID, int(unix.SIGKILL), &runc.KillOpts{All: true})
	}()
}
