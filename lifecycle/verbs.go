package lifecycle

import (
	"context"
	"fmt"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/containerd/errdefs"
)

// Rename gives the container ref the name newName, running or not, as
// docker's rename: newName must be a valid container name that no other
// container has or is being created with (errs.NameInUse, naming the
// holder). The record is rewritten atomically before the new name is
// visible; on error nothing changes. It waits for a transition on the
// container (start, remove...) to finish.
func (m *Manager) Rename(ctx context.Context, ref, newName string) (Info, error) {
	if newName == "" {
		return Info{}, fmt.Errorf("no new container name given: %w", errdefs.ErrInvalidArgument)
	}
	if err := CheckName(newName); err != nil {
		return Info{}, err
	}
	if !config.NameRE.MatchString(newName) {
		return Info{}, fmt.Errorf("container name %q: must match %s: %w", newName, config.NameRE, errdefs.ErrInvalidArgument)
	}
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	info, old, err := m.renameLocked(c, ref, newName)
	c.mu.Unlock()
	if err != nil {
		return Info{}, err
	}
	m.event(events.Renamed, info, events.Field{Name: events.FieldOldName, Value: old})
	m.events(Event{Kind: EventChanged, Info: info})
	return info, nil
}

// renameLocked is Rename's change; c.mu must be held. It returns the old
// name.
func (m *Manager) renameLocked(c *container, ref, newName string) (Info, string, error) {
	if c.gone {
		return Info{}, "", fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
	}
	old := c.rec.Name
	if old == newName {
		return Info{}, "", fmt.Errorf("container %s: already named %q: %w", c.rec.ID[:12], newName, errdefs.ErrInvalidArgument)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if other, ok := m.names[newName]; ok {
		return Info{}, "", fmt.Errorf("container name %q is already in use by %s: %w", newName, other[:12], errs.NameInUse)
	}
	if m.reserved[newName] {
		return Info{}, "", fmt.Errorf("container name %q is already in use by a container being created: %w", newName, errs.NameInUse)
	}
	c.rec.Name = newName
	if err := m.save(c); err != nil {
		c.rec.Name = old
		return Info{}, "", fmt.Errorf("rename container %s to %q: %w", old, newName, err)
	}
	delete(m.names, old)
	m.names[newName] = c.rec.ID
	return c.info(), old, nil
}
