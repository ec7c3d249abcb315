package lifecycle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/images"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// PutOptions tune ArchivePut, as the query of docker's PUT
// /containers/{id}/archive.
type PutOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the other way round.
	NoOverwriteDirNonDir bool
	// CopyUIDGID keeps the owners that the archive gives; otherwise
	// everything extracted is owned by root (docker cp without -a).
	CopyUIDGID bool
}

// view is a container's file system as a copy sees it.
type view struct {
	name string
	// root is the host path of the container's /: /proc/<pid>/root for
	// a live container (its mount namespace, so its volumes, binds and
	// tmpfs are seen at their targets), else its root file system (the
	// overlay, mounted for the copy if need be).
	root     string
	live     bool
	mounts   []MountPoint
	readonly bool
	done     func() // ends the view; safe to call more than once
}

// openView gives the file system of container ref for a copy. A container
// that is not live is held busy (a start waits) until done, and its
// overlay is mounted for that time if it was not. A restarting container
// (no payload) is refused.
func (m *Manager) openView(ctx context.Context, ref string) (*view, error) {
	c, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return nil, err
	}
	v := &view{name: c.rec.Name, mounts: c.rec.Spec.MountPoints, readonly: c.rec.Spec.ReadonlyRootfs, done: func() {}}
	if err := Check(c.rec.State, OpCopy); err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("container %s: %w", v.name, err)
	}
	if c.rec.State.Live() {
		pid := c.rec.Pid
		c.mu.Unlock()
		if pid <= 0 {
			return nil, fmt.Errorf("container %s has no payload now: %w", v.name, errdefs.ErrConflict)
		}
		v.root, v.live = "/proc/"+strconv.Itoa(pid)+"/root", true
		return v, nil
	}
	c.begin(OpCopy)
	id, spec, run := c.rec.ID, c.rec.Spec, c.rec.Run
	c.mu.Unlock()
	var once sync.Once
	release := func() { once.Do(c.release) }
	v.root, v.done = spec.Rootfs, release
	if spec.ImageID == "" {
		return v, nil // a root file-system directory
	}
	if run != nil {
		// The monitor of the last run unmounts the overlay after it
		// recorded the exit: let it finish first.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := m.units.WaitGone(wctx, run.Unit)
		cancel()
		if err != nil {
			release()
			return nil, fmt.Errorf("container %s: %w", v.name, err)
		}
	}
	dir := m.containerDir(id)
	v.root = rootfsDir(dir)
	if ok, err := mountinfo.Mounted(v.root); err == nil && ok {
		return v, nil // mounted since create; it stays
	}
	if err := mountRootfs(dir, spec.Layers); err != nil {
		release()
		return nil, fmt.Errorf("container %s: %w", v.name, err)
	}
	v.done = func() {
		once.Do(func() {
			if err := unmountRootfs(dir); err != nil {
				m.log.Error("cannot unmount a container's root file system after a copy", "container", id, "err", err)
			}
			c.release()
		})
	}
	return v, nil
}

// absPath is docker's reading of a path in a container: relative to its /,
// a trailing "/" or "/." kept.
func absPath(p string) string {
	return archive.PreserveTrailingDotOrSeparator(filepath.Join("/", p), p)
}

// inside returns the container path of host path p under v.root.
func (v *view) inside(p string) string {
	rel, err := filepath.Rel(v.root, p)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + rel
}

// resolve resolves the container path p (absolute, cleaned or with
// docker's trailing "/" or "/.") inside v.root: every symbolic link, also
// absolute ones and those in the middle of the path, is read as the
// container would read it, bounded by its root. With follow false the
// last element is not resolved (it may be a link itself). The result is a
// host path under v.root. A path on a mount of a stopped container is
// refused: those mounts exist only while it runs.
func (v *view) resolve(p string, follow bool) (string, error) {
	var host string
	if follow {
		r, err := fs.RootPath(v.root, p)
		if err != nil {
			return "", err
		}
		host = r
	} else {
		dir, base := path.Split(p)
		r, err := fs.RootPath(v.root, dir)
		if err != nil {
			return "", err
		}
		host = r + string(filepath.Separator) + base
	}
	if !v.live {
		if mp := mountAt(v.mounts, v.inside(filepath.Clean(host))); mp != nil {
			return "", fmt.Errorf("container %s is not running: %s is on its %s mount at %s, which exists only while it runs: %w",
				v.name, p, mp.Type, mp.Destination, errdefs.ErrFailedPrecondition)
		}
	}
	return host, nil
}

// mountAt returns the mount point of mps whose destination holds the
// container path p (the deepest one), or nil.
func mountAt(mps []MountPoint, p string) *MountPoint {
	var found *MountPoint
	for i := range mps {
		d := filepath.Clean(mps[i].Destination)
		if p == d || strings.HasPrefix(p, d+"/") {
			if found == nil || len(d) > len(filepath.Clean(found.Destination)) {
				found = &mps[i]
			}
		}
	}
	return found
}

// notFound is docker's error for a path that a container does not have.
func notFound(p, name string) error {
	return fmt.Errorf("Could not find the file %s in container %s: %w", p, name, errdefs.ErrNotFound)
}

// openIn opens the container path p as an O_PATH handle, every element
// (the last too) resolved inside v.root by securejoin's pathrs-lite
// (openat2 with RESOLVE_IN_ROOT, or its emulation): a link that the
// container swaps in after resolve cannot lead out of its root, as a
// second walk of a host path could. What the copy touches is reached
// through the handle (fdPath). A missing path is docker's NotFound.
func (v *view) openIn(p, asked string) (*os.File, error) {
	f, err := pathrs.OpenInRoot(v.root, p)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, notFound(asked, v.name)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %s: %w", v.name, asked, err)
	}
	return f, nil
}

// fdPath names the file of handle f through procfs: a magic link to
// exactly that file, walked no further.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// stat is docker's stat of a path in a container: the last element not
// followed, a link's target resolved inside the container (absolute). It
// returns the stat and the handle of the path's parent directory (the
// caller closes it) with the last element's name in it.
func (v *view) stat(p string) (apicontainer.PathStat, *os.File, string, error) {
	abs := absPath(p)
	if _, err := v.resolve(abs, false); err != nil {
		return apicontainer.PathStat{}, nil, "", err
	}
	dir, base := path.Split(abs)
	parent, err := v.openIn(dir, p)
	if err != nil {
		return apicontainer.PathStat{}, nil, "", err
	}
	if base == "" {
		base = "." // "/" or a path with a trailing "/": the directory itself
	}
	st, err := os.Lstat(fdPath(parent) + "/" + base)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		parent.Close()
		return apicontainer.PathStat{}, nil, "", notFound(p, v.name)
	}
	if err != nil {
		parent.Close()
		return apicontainer.PathStat{}, nil, "", err
	}
	var link string
	if st.Mode()&os.ModeSymlink != 0 {
		target, err := fs.RootPath(v.root, abs)
		if err != nil {
			parent.Close()
			return apicontainer.PathStat{}, nil, "", err
		}
		link = v.inside(target)
	}
	return apicontainer.PathStat{Name: filepath.Base(abs), Size: st.Size(), Mode: st.Mode(), Mtime: st.ModTime(), LinkTarget: link}, parent, base, nil
}

// ArchiveStat stats path in container ref as docker's HEAD
// /containers/{id}/archive: path is read from the container's /, symbolic
// links resolve inside the container, the last element is not followed
// (LinkTarget then says where it leads, inside the container). A missing
// path is NotFound with docker's message ("Could not find the file …");
// an unknown container is errs.NoSuchContainer. Any state but restarting.
func (m *Manager) ArchiveStat(ctx context.Context, ref, path string) (apicontainer.PathStat, error) {
	v, err := m.openView(ctx, ref)
	if err != nil {
		return apicontainer.PathStat{}, err
	}
	defer v.done()
	st, parent, _, err := v.stat(path)
	if err == nil {
		parent.Close()
	}
	return st, err
}

// ArchiveGet returns a tar stream of path in container ref and its stat,
// as docker's GET /containers/{id}/archive: the top entry is the base
// name of path (a directory with its content), links inside it are
// entries of their own, owners are the container's. The caller must
// close the stream; a stopped container stays busy (a start waits) and
// its overlay mounted until then. Errors as ArchiveStat.
func (m *Manager) ArchiveGet(ctx context.Context, ref, path string) (io.ReadCloser, apicontainer.PathStat, error) {
	v, err := m.openView(ctx, ref)
	if err != nil {
		return nil, apicontainer.PathStat{}, err
	}
	rc, st, err := v.get(path)
	if err != nil {
		v.done()
		return nil, apicontainer.PathStat{}, err
	}
	return &closer{ReadCloser: rc, done: v.done}, st, nil
}

// get is ArchiveGet in the view; the caller ends the view after closing
// the stream.
func (v *view) get(path string) (io.ReadCloser, apicontainer.PathStat, error) {
	st, parent, base, err := v.stat(path)
	if err != nil {
		return nil, apicontainer.PathStat{}, err
	}
	// As docker: the entries are named after what was asked for (a
	// trailing "/" or "/." followed the link at its end, inside the
	// container).
	rebase := filepath.Base(absPath(path))
	if rebase == "/" {
		rebase = "." // the whole root file system
	}
	// The trailing "/" makes go-archive walk the directory the magic
	// link leads to, not archive the link.
	rc, err := archive.TarWithOptions(fdPath(parent)+"/", archive.TarResourceRebaseOpts(base, rebase))
	if err != nil {
		parent.Close()
		return nil, apicontainer.PathStat{}, err
	}
	return &closer{ReadCloser: rc, done: func() { parent.Close() }}, st, nil
}

type closer struct {
	io.ReadCloser
	done func()
}

func (c *closer) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}

// ArchivePut extracts the tar stream r into the directory dir of container
// ref, as docker's PUT /containers/{id}/archive: dir must exist (a link to
// a directory is followed, inside the container); every entry's path is
// resolved inside dir and checked as layer entries are (no absolute
// names, no "..", no device nodes: images.CheckEntry); everything is
// owned by root unless o.CopyUIDGID. A container with a read-only root
// file system refuses, unless dir is on one of its writable mounts (a
// live container's), as does a read-only mount. Errors: NotFound for a
// missing dir, InvalidArgument for a dir that is not a directory or a
// refused entry (named), FailedPrecondition for read-only targets.
func (m *Manager) ArchivePut(ctx context.Context, ref, dir string, r io.Reader, o PutOptions) error {
	v, err := m.openView(ctx, ref)
	if err != nil {
		return err
	}
	defer v.done()
	return v.put(dir, r, o)
}

// put is ArchivePut in the view.
func (v *view) put(dir string, r io.Reader, o PutOptions) error {
	abs := absPath(dir)
	host, err := v.resolve(abs, true)
	if err != nil {
		return err
	}
	target, err := v.openIn(abs, dir)
	if err != nil {
		return err
	}
	defer target.Close()
	st, err := os.Stat(fdPath(target))
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("container %s: %s: extraction point is not a directory: %w", v.name, dir, errdefs.ErrInvalidArgument)
	}
	if mp := mountAt(v.mounts, v.inside(host)); mp != nil {
		if !mp.RW {
			return fmt.Errorf("container %s: %s is on the read-only %s mount at %s: %w", v.name, dir, mp.Type, mp.Destination, errdefs.ErrFailedPrecondition)
		}
	} else if v.readonly {
		return fmt.Errorf("container %s: container rootfs is marked read-only (--read-only): cannot copy into %s: %w", v.name, dir, errdefs.ErrFailedPrecondition)
	}
	opts := &archive.TarOptions{NoOverwriteDirNonDir: o.NoOverwriteDirNonDir}
	if !o.CopyUIDGID {
		opts.ChownOpts = &archive.ChownOpts{UID: 0, GID: 0}
	}
	ds, err := compression.DecompressStream(r)
	if err != nil {
		return fmt.Errorf("container %s: copy into %s: %v: %w", v.name, dir, err, errdefs.ErrInvalidArgument)
	}
	defer ds.Close()
	checked, stop := checkedTar(ds)
	defer stop()
	if err := archive.UntarUncompressed(checked, fdPath(target), opts); err != nil {
		return fmt.Errorf("container %s: copy into %s: %w", v.name, dir, err)
	}
	return nil
}

// checkedTar passes the tar stream r on entry by entry, ending it with the
// error of images.CheckEntry at the first entry that it refuses. stop
// ends the copy early (when the reader is not read to its end).
func checkedTar(r io.Reader) (io.Reader, func()) {
	pr, pw := io.Pipe()
	go func() {
		tr := tar.NewReader(r)
		tw := tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err != nil {
				// Not a tar stream, or a cut one: the client's fault.
				err = fmt.Errorf("not a valid tar stream: %v: %w", err, errdefs.ErrInvalidArgument)
			}
			if err == nil {
				err = images.CheckEntry(hdr)
			}
			if err == nil {
				err = tw.WriteHeader(hdr)
			}
			if err == nil {
				if _, err = io.Copy(tw, tr); errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("a tar stream cut short: %v: %w", err, errdefs.ErrInvalidArgument)
				}
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, func() { pr.Close() }
}
