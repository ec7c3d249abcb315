package lifecycle

import (
	"context"
	"fmt"
	"runtime"

	"github.com/berthd/berth/limits"
)

// Resources are the limits Update changes, docker update's --memory,
// --cpus, --cpu-shares and --pids-limit: nil leaves a limit as it is, a
// pointer to 0 removes it. Units as in Spec (bytes, nano-CPUs, shares,
// tasks).
type Resources struct {
	Memory    *uint64
	NanoCPUs  *uint64
	CPUShares *uint64
	PidsLimit *uint64
}

// Update changes a container's limits: in its record (for every later
// start) and, if it runs, on its scope at once as unit properties, so
// they hold across systemctl daemon-reload (moby#41233 is the failure of
// writing them to cgroupfs only). Values are checked as at create
// (InvalidArgument); if systemd refuses them nothing is recorded. Any
// state but dead.
func (m *Manager) Update(ctx context.Context, ref string, r Resources) (Info, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	if err := Check(c.rec.State, OpUpdate); err != nil {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	spec := c.rec.Spec
	set := func(dst *uint64, v *uint64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&spec.Memory, r.Memory)
	set(&spec.NanoCPUs, r.NanoCPUs)
	set(&spec.CPUShares, r.CPUShares)
	set(&spec.PidsLimit, r.PidsLimit)
	if err := checkResources(spec); err != nil {
		c.mu.Unlock()
		return Info{}, err
	}
	var unit string
	if c.rec.State.Live() && c.rec.Run != nil {
		unit = c.rec.Run.Unit
	}
	c.begin(OpUpdate)
	c.mu.Unlock()
	if unit != "" {
		err = m.units.SetLimits(ctx, unit, limitsOf(spec))
	}
	c.mu.Lock()
	c.end()
	if err != nil {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s: scope %s: %w", c.rec.Name, unit, err)
	}
	c.rec.Spec.Memory, c.rec.Spec.NanoCPUs, c.rec.Spec.CPUShares, c.rec.Spec.PidsLimit = spec.Memory, spec.NanoCPUs, spec.CPUShares, spec.PidsLimit
	err = m.save(c)
	info := c.info()
	c.mu.Unlock()
	if err != nil {
		return Info{}, fmt.Errorf("container %s: save: %w", c.rec.Name, err)
	}
	m.events(Event{Kind: EventChanged, Info: info})
	return info, nil
}

// checkResources checks a spec's limits (create and update).
func checkResources(s Spec) error {
	if err := limits.Memory(s.Memory); err != nil {
		return invalid("memory %d: %v", s.Memory, err)
	}
	if s.NanoCPUs != 0 && s.NanoCPUs < MinNanoCPUs {
		return invalid("nano_cpus %d: below the minimum of %d (0.01 CPUs)", s.NanoCPUs, int(MinNanoCPUs))
	}
	if n := runtime.NumCPU(); s.NanoCPUs > uint64(n)*1e9 {
		// docker's wording
		return invalid("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
	}
	return nil
}
