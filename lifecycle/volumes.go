package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berthd/berth/volumes"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
)

// acquireVolumes creates (on first use) and references the volumes of the
// container's mount points, fills in their names and paths, and copies the
// image's content into each new or empty one (unless nocopy). rootfs is
// the container's root file system, mounted. It returns the volumes it
// created; on error it releases what it took and removes those.
func (m *Manager) acquireVolumes(id, rootfs string, mps []MountPoint) (created []string, err error) {
	var taken []string
	undo := func() {
		for _, n := range taken {
			m.volumes.Release(n, id)
		}
		m.removeVolumes(created)
	}
	for i := range mps {
		mp := &mps[i]
		if mp.Type != MountVolume {
			continue
		}
		if m.volumes == nil {
			undo()
			return nil, fmt.Errorf("volumes are not available: %w", errdefs.ErrNotImplemented)
		}
		if mp.Name == "" {
			mp.Name = volumes.NewAnonymousName()
		}
		v, isNew, err := m.volumes.Acquire(mp.Name, id, mp.Labels, mp.Anonymous)
		if err != nil {
			undo()
			return nil, err
		}
		taken = append(taken, mp.Name)
		if isNew {
			created = append(created, mp.Name)
		}
		mp.Source = v.Mountpoint
		if mp.NoCopy {
			continue
		}
		// The image's directory, resolved inside the root file system
		// (symbolic links never lead out of it).
		src, err := fs.RootPath(rootfs, mp.Destination)
		if err != nil {
			undo()
			return nil, fmt.Errorf("volume %s at %s: %w", mp.Name, mp.Destination, err)
		}
		if _, err := m.volumes.CopyUp(mp.Name, src); err != nil {
			undo()
			return nil, err
		}
	}
	return created, nil
}

// removeVolumes removes volumes a failed create made (no one else uses
// them unless they did so meanwhile, and then they stay).
func (m *Manager) removeVolumes(names []string) {
	for _, n := range names {
		if err := m.volumes.Remove(context.Background(), n, false, nil); err != nil && !errdefs.IsNotFound(err) {
			m.log.Warn("volume made by a failed create kept", "volume", n, "err", err)
		}
	}
}

// refVolumes records the container's volumes as used (at load).
func (m *Manager) refVolumes(id string, mps []MountPoint) {
	if m.volumes == nil {
		return
	}
	for _, mp := range mps {
		if mp.Type == MountVolume && mp.Name != "" {
			m.volumes.Ref(mp.Name, id)
		}
	}
}

// releaseVolumes forgets the container's use of its volumes and, if
// anonymous, removes its anonymous volumes that no other container uses
// (docker's rm -v and --rm).
func (m *Manager) releaseVolumes(id string, mps []MountPoint, anonymous bool) {
	if m.volumes == nil {
		return
	}
	for _, mp := range mps {
		if mp.Type != MountVolume || mp.Name == "" {
			continue
		}
		m.volumes.Release(mp.Name, id)
		if anonymous && mp.Anonymous {
			err := m.volumes.Remove(context.Background(), mp.Name, false, nil)
			if err != nil && !errdefs.IsNotFound(err) {
				m.log.Warn("anonymous volume kept", "container", id, "volume", mp.Name, "err", err)
			}
		}
	}
}

// prepareMounts makes what a run's mounts need: volumes that were removed
// since (with force, while the container was stopped) are created again,
// and -v host directories that are missing are created (docker's rule).
func (m *Manager) prepareMounts(id string, mps []MountPoint) error {
	for _, mp := range mps {
		switch {
		case mp.Type == MountVolume && m.volumes != nil:
			if _, _, err := m.volumes.Acquire(mp.Name, id, mp.Labels, mp.Anonymous); err != nil {
				return err
			}
		case mp.Type == MountBind && mp.CreateHostDir:
			if _, err := os.Stat(mp.Source); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					return fmt.Errorf("volume %s:%s: create the host directory: %w", mp.Source, mp.Destination, err)
				}
			}
		}
	}
	return nil
}

// WaitLoaded waits until Load has read the records, so that the volume
// store's references are complete; it returns Load's error.
func (m *Manager) WaitLoaded() error { return m.wait() }

// VolumeUserActive reports whether container id runs or is starting: a
// volume it uses is not removed then, even with force.
func (m *Manager) VolumeUserActive(id string) bool {
	m.mu.Lock()
	c := m.containers[id]
	m.mu.Unlock()
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.State.Live() || (c.busy != nil && c.busyOp == OpStart)
}
