package systemd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// Units makes and inspects units through systemd's D-Bus API.
// It is safe for concurrent use.
//
// systemd closes its private socket when it re-executes itself (systemctl
// daemon-reexec, as distribution upgrades of systemd do): a call that
// fails on a closed connection reconnects, waiting up to ReconnectTimeout
// for systemd to come back, and is made once more.
type Units struct {
	mu   sync.Mutex
	conn *sd.Conn
	// dial makes a new connection (the private socket, else the bus)
	// that lives as long as life.
	dial func(life context.Context) (*sd.Conn, error)
	life context.Context
}

// ReconnectTimeout bounds how long a call waits for systemd to come back.
const ReconnectTimeout = 30 * time.Second

// errLost says that the connection closed while a job was pending.
var errLost = errors.New("the connection to systemd closed while a job was pending")

// Connect opens systemd's private socket (root only, no bus daemon in the
// path), falling back to the system bus. The connection, and every one
// that replaces it, is closed when ctx ends.
func Connect(ctx context.Context) (*Units, error) {
	u := &Units{dial: dialSystemd, life: ctx}
	c, err := u.dial(ctx)
	if err != nil {
		return nil, err
	}
	u.conn = c
	return u, nil
}

func dialSystemd(ctx context.Context) (*sd.Conn, error) {
	c, err := sd.NewSystemdConnectionContext(ctx)
	if err != nil {
		c, err = sd.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect to systemd: %w", err)
		}
	}
	return c, nil
}

// Close closes the connection.
func (u *Units) Close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.conn.Close()
}

func (u *Units) get() *sd.Conn {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn
}

// reconnect replaces old, unless another call has done so already. It
// retries until systemd answers, ctx ends or ReconnectTimeout passes.
func (u *Units) reconnect(ctx context.Context, old *sd.Conn) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conn != old {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ReconnectTimeout)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		// godbus closes a connection when the context it was made with
		// ends: the new one lives as long as the first.
		c, err := u.dial(u.life)
		if err == nil {
			old.Close()
			u.conn = c
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reconnect to systemd: %w (%w)", err, errdefs.ErrUnavailable)
		case <-time.After(delay):
		}
	}
}

// call runs f on the connection; if f fails because the connection has
// closed, it reconnects and runs f once more.
func (u *Units) call(ctx context.Context, f func(c *sd.Conn) error) error {
	c := u.get()
	err := f(c)
	if err == nil || c.Connected() {
		return err
	}
	if rerr := u.reconnect(ctx, c); rerr != nil {
		return fmt.Errorf("%w; %w", err, rerr)
	}
	return f(u.get())
}

// Scope describes a transient scope. Zero limits are left unset.
type Scope struct {
	Name        string
	Slice       string
	Description string
	PIDs        []uint32
	TimeoutStop time.Duration
	// KillSignal is what systemd sends every process of the scope when
	// it is stopped (0: systemd's SIGTERM). berth uses SIGCONT: no
	// effect on the payload, a stop request to the monitor (see the
	// package doc).
	KillSignal unix.Signal
	Limits
}

func (s Scope) properties() []sd.Property {
	props := []sd.Property{
		sd.PropSlice(s.Slice),
		sd.PropDescription(s.Description),
		sd.PropPids(s.PIDs...),
		{Name: "Delegate", Value: godbus.MakeVariant(true)},
		{Name: "CollectMode", Value: godbus.MakeVariant("inactive-or-failed")},
	}
	if s.TimeoutStop > 0 {
		props = append(props, sd.Property{Name: "TimeoutStopUSec", Value: godbus.MakeVariant(uint64(s.TimeoutStop / time.Microsecond))})
	}
	if s.KillSignal > 0 {
		props = append(props, sd.Property{Name: "KillSignal", Value: godbus.MakeVariant(int32(s.KillSignal))})
	}
	if s.MemoryMax > 0 {
		props = append(props, sd.Property{Name: "MemoryMax", Value: godbus.MakeVariant(s.MemoryMax)})
	}
	if s.CPUQuotaPerSec > 0 {
		props = append(props, sd.Property{Name: "CPUQuotaPerSecUSec", Value: godbus.MakeVariant(uint64(s.CPUQuotaPerSec / time.Microsecond))})
	}
	if s.CPUWeight > 0 {
		props = append(props, sd.Property{Name: "CPUWeight", Value: godbus.MakeVariant(s.CPUWeight)})
	}
	// No pids limit is none, as docker's, not systemd's DefaultTasksMax.
	props = append(props, sd.Property{Name: "TasksMax", Value: godbus.MakeVariant(orUnset(s.TasksMax))})
	return props
}

// Limits are a scope's resource limits as unit properties (systemd.resource-control(5)).
// Zero removes a limit: MemoryMax, CPUQuotaPerSecUSec and TasksMax become
// infinity and CPUWeight its default (systemd's "unset", UINT64_MAX on
// the bus).
type Limits struct {
	MemoryMax uint64
	// CPUQuotaPerSec is CPU time per second of wall time (1s = one CPU).
	CPUQuotaPerSec time.Duration
	CPUWeight      uint64
	TasksMax       uint64
}

// orUnset is v, or systemd's "infinity"/"unset" (UINT64_MAX) for 0.
func orUnset(v uint64) uint64 {
	if v == 0 {
		return math.MaxUint64
	}
	return v
}

func (l Limits) properties() []sd.Property {
	quota := uint64(math.MaxUint64)
	if l.CPUQuotaPerSec > 0 {
		quota = uint64(l.CPUQuotaPerSec / time.Microsecond)
	}
	return []sd.Property{
		{Name: "MemoryMax", Value: godbus.MakeVariant(orUnset(l.MemoryMax))},
		{Name: "CPUQuotaPerSecUSec", Value: godbus.MakeVariant(quota)},
		{Name: "CPUWeight", Value: godbus.MakeVariant(orUnset(l.CPUWeight))},
		{Name: "TasksMax", Value: godbus.MakeVariant(orUnset(l.TasksMax))},
	}
}

// SetLimits changes the limits of a running scope at runtime (systemd's
// SetUnitProperties with runtime=true: a transient unit has nothing else),
// so they hold across systemctl daemon-reload, unlike limits written to
// cgroupfs.
func (u *Units) SetLimits(ctx context.Context, name string, l Limits) error {
	return u.call(ctx, func(c *sd.Conn) error {
		return c.SetUnitPropertiesContext(ctx, name, true, l.properties()...)
	})
}

// StartScope creates the scope and waits for its job. A dead leftover of
// the same name (UnitExists) is reset and the start tried once more.
func (u *Units) StartScope(ctx context.Context, s Scope) error {
	err := u.call(ctx, func(c *sd.Conn) error { return startScope(ctx, c, s) })
	if errors.Is(err, errLost) {
		// The job's outcome went with the connection; the unit tells.
		if state, serr := u.ActiveState(ctx, s.Name); serr == nil && state == "active" {
			return nil
		}
	}
	var derr godbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.systemd1.UnitExists" {
		if state, _ := u.ActiveState(ctx, s.Name); state == "active" || state == "activating" || state == "deactivating" {
			return fmt.Errorf("unit %s: still %s: %w", s.Name, state, errdefs.ErrConflict)
		}
		u.resetFailed(ctx, s.Name)
		err = u.call(ctx, func(c *sd.Conn) error { return startScope(ctx, c, s) })
	}
	return err
}

func startScope(ctx context.Context, c *sd.Conn, s Scope) error {
	ch := make(chan string, 1)
	if _, err := c.StartTransientUnitContext(ctx, s.Name, "fail", s.properties(), ch); err != nil {
		var derr godbus.Error
		if errors.As(err, &derr) {
			return derr
		}
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	// The job's end comes as a signal on this connection: watch it.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case res := <-ch:
			if res != "done" {
				return fmt.Errorf("start %s: job %s", s.Name, res)
			}
			return nil
		case <-tick.C:
			if !c.Connected() {
				return fmt.Errorf("start %s: %w", s.Name, errLost)
			}
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", s.Name, ctx.Err())
		}
	}
}

func (u *Units) resetFailed(ctx context.Context, name string) {
	u.call(ctx, func(c *sd.Conn) error { return c.ResetFailedUnitContext(ctx, name) })
}

// ActiveState returns the unit's ActiveState, "" if systemd does not know
// the unit.
func (u *Units) ActiveState(ctx context.Context, name string) (string, error) {
	var st string
	err := u.call(ctx, func(c *sd.Conn) error {
		p, err := c.GetUnitPropertyContext(ctx, name, "ActiveState")
		if err != nil {
			return err
		}
		st, _ = p.Value.Value().(string)
		load, err := c.GetUnitPropertyContext(ctx, name, "LoadState")
		if err == nil {
			if ls, _ := load.Value.Value().(string); ls == "not-found" {
				st = ""
			}
		}
		return nil
	})
	return st, err
}

// ControlGroup returns the unit's cgroup path relative to the cgroupfs root.
func (u *Units) ControlGroup(ctx context.Context, name string) (string, error) {
	var p *sd.Property
	err := u.call(ctx, func(c *sd.Conn) (err error) {
		p, err = c.GetUnitTypePropertyContext(ctx, name, "Scope", "ControlGroup")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("unit %s: %w", name, err)
	}
	cg, _ := p.Value.Value().(string)
	if cg == "" {
		return "", fmt.Errorf("unit %s has no cgroup: %w", name, errdefs.ErrNotFound)
	}
	return cg, nil
}

// WaitGone waits until the unit is neither active nor deactivating.
func (u *Units) WaitGone(ctx context.Context, name string) error {
	for {
		st, err := u.ActiveState(ctx, name)
		if err != nil {
			return err
		}
		if st == "" || st == "inactive" || st == "failed" {
			if st == "failed" {
				u.resetFailed(ctx, name)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("unit %s still %s: %w", name, st, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopUnit stops a unit and waits for the job.
func (u *Units) StopUnit(ctx context.Context, name string) error {
	ch := make(chan string, 1)
	err := u.call(ctx, func(c *sd.Conn) error {
		_, err := c.StopUnitContext(ctx, name, "replace", ch)
		return err
	})
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UnitStates returns the ActiveState of every loaded unit whose name
// matches one of patterns (shell globs, as systemctl list-units takes), in
// one call to systemd. A unit systemd no longer knows is absent.
func (u *Units) UnitStates(ctx context.Context, patterns ...string) (map[string]string, error) {
	var list []sd.UnitStatus
	err := u.call(ctx, func(c *sd.Conn) (err error) {
		list, err = c.ListUnitsByPatternsContext(ctx, nil, patterns)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list units %v: %w", patterns, err)
	}
	out := make(map[string]string, len(list))
	for _, s := range list {
		if s.LoadState == "not-found" {
			continue
		}
		out[s.Name] = s.ActiveState
	}
	return out, nil
}

// KillUnit sends signal to every process of the unit (systemd's
// KillUnit, whom "all").
func (u *Units) KillUnit(ctx context.Context, name string, signal unix.Signal) error {
	return u.call(ctx, func(c *sd.Conn) error { return c.KillUnitWithTarget(ctx, name, sd.All, int32(signal)) })
}

// ScopeLimits reads the MemoryMax= and TasksMax= properties of the scope
// name (the other fields stay zero); systemd's "infinity" reads as 0, no
// limit.
func (u *Units) ScopeLimits(ctx context.Context, name string) (Limits, error) {
	var l Limits
	err := u.call(ctx, func(c *sd.Conn) error {
		props, err := c.GetUnitTypePropertiesContext(ctx, name, "Scope")
		if err != nil {
			return err
		}
		for p, v := range map[string]*uint64{"MemoryMax": &l.MemoryMax, "TasksMax": &l.TasksMax} {
			if n, _ := props[p].(uint64); n != math.MaxUint64 {
				*v = n
			}
		}
		return nil
	})
	if err != nil {
		return Limits{}, fmt.Errorf("unit %s: %w", name, err)
	}
	return l, nil
}
