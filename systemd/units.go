package systemd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// Units makes and inspects units through systemd's D-Bus API.
// It is safe for concurrent use.
type Units struct {
	conn *sd.Conn
}

// Connect opens systemd's private socket (root only, no bus daemon in the
// path), falling back to the system bus.
func Connect(ctx context.Context) (*Units, error) {
	c, err := sd.NewSystemdConnectionContext(ctx)
	if err != nil {
		c, err = sd.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect to systemd: %w", err)
		}
	}
	return &Units{conn: c}, nil
}

// Close closes the connection.
func (u *Units) Close() { u.conn.Close() }

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
	MemoryMax  uint64
	// CPUQuotaPerSec is CPU time per second of wall time (1s = one CPU).
	CPUQuotaPerSec time.Duration
	CPUWeight      uint64
	TasksMax       uint64
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
	if s.TasksMax > 0 {
		props = append(props, sd.Property{Name: "TasksMax", Value: godbus.MakeVariant(s.TasksMax)})
	}
	return props
}

// StartScope creates the scope and waits for its job. A dead leftover of
// the same name (UnitExists) is reset and the start tried once more.
func (u *Units) StartScope(ctx context.Context, s Scope) error {
	err := u.startScope(ctx, s)
	var derr godbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.systemd1.UnitExists" {
		if state, _ := u.ActiveState(ctx, s.Name); state == "active" || state == "activating" || state == "deactivating" {
			return fmt.Errorf("unit %s: still %s: %w", s.Name, state, errdefs.ErrConflict)
		}
		u.conn.ResetFailedUnitContext(ctx, s.Name)
		err = u.startScope(ctx, s)
	}
	return err
}

func (u *Units) startScope(ctx context.Context, s Scope) error {
	ch := make(chan string, 1)
	if _, err := u.conn.StartTransientUnitContext(ctx, s.Name, "fail", s.properties(), ch); err != nil {
		var derr godbus.Error
		if errors.As(err, &derr) {
			return derr
		}
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("start %s: job %s", s.Name, res)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("start %s: %w", s.Name, ctx.Err())
	}
}

// ActiveState returns the unit's ActiveState, "" if systemd does not know
// the unit.
func (u *Units) ActiveState(ctx context.Context, name string) (string, error) {
	p, err := u.conn.GetUnitPropertyContext(ctx, name, "ActiveState")
	if err != nil {
		return "", err
	}
	st, _ := p.Value.Value().(string)
	load, err := u.conn.GetUnitPropertyContext(ctx, name, "LoadState")
	if err == nil {
		if ls, _ := load.Value.Value().(string); ls == "not-found" {
			return "", nil
		}
	}
	return st, nil
}

// ControlGroup returns the unit's cgroup path relative to the cgroupfs root.
func (u *Units) ControlGroup(ctx context.Context, name string) (string, error) {
	p, err := u.conn.GetUnitTypePropertyContext(ctx, name, "Scope", "ControlGroup")
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
				u.conn.ResetFailedUnitContext(ctx, name)
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
	if _, err := u.conn.StopUnitContext(ctx, name, "replace", ch); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
