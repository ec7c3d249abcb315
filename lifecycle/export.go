package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/mount"
	cfs "github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// exportsDir is where Export mounts its views (<exec-root>/exports);
// Load unmounts whatever a berthd that died left there.
func (m *Manager) exportsDir() string { return filepath.Join(m.execRoot, "exports") }

// layered returns container ref and refuses one without an image (made
// with --rootfs): it has no layers to compare with or to merge.
func (m *Manager) layered(ref, verb string) (*container, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	if c.rec.Spec.ImageID == "" {
		return nil, fmt.Errorf("container %s runs on the directory %s given with --rootfs, not on image layers: %s needs an image's layers: %w",
			c.rec.Name, c.rec.Spec.Rootfs, verb, errdefs.ErrFailedPrecondition)
	}
	return c, nil
}

// Changes lists what changed in container ref's root file system against
// its image, as docker's diff (GET /containers/{id}/changes): the
// overlay's upper directory against the image's layers (continuity's
// overlay diff: whiteout devices are deletions; an opaque directory
// deletes every entry of the image's directory that it does not hold
// again), sorted by path. What berth and the runtime put there themselves
// (the mount points /proc, /sys, /dev, the container's /etc/hostname,
// /etc/hosts and /etc/resolv.conf, --init's binary, the targets of its
// mounts) is left out, as commit leaves it out, and so are the directories
// that were made or changed only for them. Any state; a container made with --rootfs
// is errdefs.ErrFailedPrecondition, an unknown one errs.NoSuchContainer.
func (m *Manager) Changes(ctx context.Context, ref string) ([]containertypes.FilesystemChange, error) {
	c, err := m.layered(ref, "diff")
	if err != nil {
		return nil, err
	}
	dir := m.containerDir(c.rec.ID)
	spec := c.rec.Spec
	upper := filepath.Join(dir, "upper")
	base, done, err := baseView(dir, spec.Layers)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	defer done()
	changes, err := layerChanges(ctx, base, upper)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.rec.Name, err)
	}
	return dropOwn(changes, ownPaths(spec)), nil
}

// layerChanges lists the changes of an overlay upper directory against
// base, the merged tree below it (see Changes).
func layerChanges(ctx context.Context, base, upper string) ([]containertypes.FilesystemChange, error) {
	var changes []containertypes.FilesystemChange
	err := cfs.DiffDirChanges(ctx, base, upper, cfs.DiffSourceOverlayFS, func(k cfs.ChangeKind, p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if d, ok := strings.CutSuffix(p, "/.wh..opq"); ok && k == cfs.ChangeKindDelete {
			// An opaque directory hides all of the image's entries
			// below it; those it holds again are walked as changes.
			ents, err := os.ReadDir(filepath.Join(base, d))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			for _, e := range ents {
				if _, err := os.Lstat(filepath.Join(upper, d, e.Name())); errors.Is(err, fs.ErrNotExist) {
					changes = append(changes, containertypes.FilesystemChange{Kind: containertypes.ChangeDelete, Path: filepath.Join(d, e.Name())})
				}
			}
			return nil
		}
		kind := containertypes.ChangeModify
		switch k {
		case cfs.ChangeKindAdd:
			kind = containertypes.ChangeAdd
		case cfs.ChangeKindDelete:
			kind = containertypes.ChangeDelete
		}
		changes = append(changes, containertypes.FilesystemChange{Kind: kind, Path: p})
		return nil
	})
	return changes, err
}

// ownPaths are the paths berth and the runtime make in a container's
// layer themselves, which neither commit nor diff counts as the
// container's changes: the runtime's mount points (/proc, /sys, /dev),
// the container's /etc files, --init's binary and the targets of its
// mounts (runc makes them in the upper directory when the image lacks
// them).
func ownPaths(spec Spec) []string {
	own := []string{"/proc", "/sys", "/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
	if spec.Init {
		own = append(own, "/sbin/docker-init")
	}
	for _, mp := range spec.MountPoints {
		own = append(own, filepath.Clean(mp.Destination))
	}
	return own
}

// dropOwn removes the changes at or below the paths own, and the
// directories above them, added or modified, that hold no other change
// (runc makes a mount's missing target with its parents); the rest is
// sorted by path.
func dropOwn(changes []containertypes.FilesystemChange, own []string) []containertypes.FilesystemChange {
	below := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") || dir == "/" }
	out := []containertypes.FilesystemChange{}
	for _, ch := range changes {
		if !slices.ContainsFunc(own, func(o string) bool { return below(ch.Path, o) }) {
			out = append(out, ch)
		}
	}
	kept := out[:0]
	for _, ch := range out {
		if ch.Kind != containertypes.ChangeDelete &&
			slices.ContainsFunc(own, func(o string) bool { return below(o, ch.Path) && o != ch.Path }) &&
			!slices.ContainsFunc(out, func(other containertypes.FilesystemChange) bool {
				return other.Path != ch.Path && below(other.Path, ch.Path)
			}) {
			continue // made or changed only for berth's own entries
		}
		kept = append(kept, ch)
	}
	slices.SortFunc(kept, func(a, b containertypes.FilesystemChange) int { return strings.Compare(a.Path, b.Path) })
	return kept
}

// Export returns a tar stream of container ref's whole root file system,
// as docker's export (GET /containers/{id}/export): the merged view of
// its image's layers and its own, not its mounts. It reads a read-only
// mount of its own under <exec-root>/exports: a read-only bind of the
// container's overlay where that is mounted (running, paused, created),
// else an overlay of its layers with its upper directory as the top one.
// A container that is not live is held busy meanwhile (a start or
// removal waits); a running one is paused meanwhile (so that nothing is
// swapped for a link under the walk). The walk never follows a symbolic link. The caller must read
// to the end or Close: the view is unmounted before the stream's EOF is
// returned, and by Close. A container made with --rootfs is
// errdefs.ErrFailedPrecondition, an unknown one errs.NoSuchContainer, a
// restarting or dead one errdefs.ErrConflict.
func (m *Manager) Export(ctx context.Context, ref string) (io.ReadCloser, error) {
	c, err := m.layered(ref, "export")
	if err != nil {
		return nil, err
	}
	var cleanups []func()
	undo := func() {
		for _, f := range slices.Backward(cleanups) {
			f()
		}
	}
	if err := c.lockIdle(ctx); err != nil {
		return nil, err
	}
	info := c.info()
	if err := Check(info.State, OpCopy); err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("container %s: %w", info.Name, err)
	}
	live := info.State.Live()
	if !live {
		c.begin(OpCopy)
		cleanups = append(cleanups, c.release)
	}
	c.mu.Unlock()
	if info.State == Running {
		if err := m.Pause(ctx, info.ID); err != nil {
			undo()
			return nil, fmt.Errorf("container %s: pause for the export: %w", info.Name, err)
		}
		cleanups = append(cleanups, func() {
			if err := m.Unpause(context.WithoutCancel(ctx), info.ID); err != nil && !errdefs.IsConflict(err) {
				m.log.Error("cannot unpause a container after its export", "container", info.ID, "err", err)
			}
		})
	}
	if err := os.MkdirAll(m.exportsDir(), 0o700); err != nil {
		undo()
		return nil, err
	}
	view, err := os.MkdirTemp(m.exportsDir(), info.ID[:12]+"-")
	if err != nil {
		undo()
		return nil, err
	}
	cleanups = append(cleanups, func() { os.Remove(view) })
	dir := m.containerDir(info.ID)
	var mnt mount.Mount
	rootfs := rootfsDir(dir)
	if ok, err := mountinfo.Mounted(rootfs); err == nil && ok {
		// Running, or created (mounted since create): the container's
		// own overlay, never a second one over the same upper directory.
		mnt = mount.Mount{Type: "bind", Source: rootfs, Options: []string{"bind", "ro"}}
	} else if live {
		undo()
		return nil, fmt.Errorf("container %s: its root file system is not mounted: %w", info.Name, errdefs.ErrConflict)
	} else {
		lower := []string{filepath.Join(dir, "upper")}
		for _, l := range slices.Backward(info.Spec.Layers) {
			lower = append(lower, l)
		}
		mnt = mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + strings.Join(lower, ":")}}
	}
	if err := mnt.Mount(view); err != nil {
		undo()
		return nil, fmt.Errorf("container %s: mount its root file system for the export: %w", info.Name, err)
	}
	cleanups = append(cleanups, func() {
		if err := mount.UnmountAll(view, unix.MNT_DETACH); err != nil {
			m.log.Error("cannot unmount an export's view", "container", info.ID, "path", view, "err", err)
		}
	})
	rc, err := archive.TarWithOptions(view, &archive.TarOptions{Compression: compression.None})
	if err != nil {
		undo()
		return nil, fmt.Errorf("container %s: %w", info.Name, err)
	}
	return &exportStream{ReadCloser: rc, done: undo}, nil
}

// exportStream ends its view before it reports the end of the stream.
type exportStream struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (e *exportStream) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err != nil {
		e.end()
	}
	return n, err
}

func (e *exportStream) end() {
	e.once.Do(func() {
		e.ReadCloser.Close()
		e.done()
	})
}

// Close stops the stream and ends its view.
func (e *exportStream) Close() error {
	e.end()
	return nil
}

// clearExports unmounts and removes the views that a berthd which died
// during an export left under <exec-root>/exports.
func (m *Manager) clearExports() {
	ents, err := os.ReadDir(m.exportsDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(m.exportsDir(), e.Name())
		if err := mount.UnmountAll(p, unix.MNT_DETACH); err != nil {
			m.log.Warn("cannot unmount a stale export view", "path", p, "err", err)
			continue
		}
		os.Remove(p)
	}
}
