package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/monitor/contract"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
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
	var runDir string
	if err == nil && c.rec.State.Live() && c.rec.Run != nil {
		runDir = c.rec.Run.RunDir
	}
	c.mu.Unlock()
	if err != nil {
		return Info{}, err
	}
	if runDir != "" {
		// The running monitor's events carry the new name from now on.
		if _, err := contract.Ask(ctx, runDir, contract.Request{Op: contract.OpUpdate, Name: newName}, 5*time.Second); err != nil {
			m.log.Warn("cannot tell the monitor the new name", "container", info.ID, "err", err)
		}
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

// PruneFilters are container prune's filters, as docker's: until (created
// before a time), label=KEY[=VALUE] (all must hold) and label!=… (none
// may hold).
type PruneFilters struct {
	Until    time.Time // zero: any time
	Labels   []string
	NoLabels []string
}

// ParsePruneFilters reads "key=value" filters relative to now. until takes
// a Go duration (10m, 24h: that long ago), RFC 3339 time, a date
// (2006-01-02) or Unix seconds. Errors are errdefs.ErrInvalidArgument
// naming the filter.
func ParsePruneFilters(in []string, now time.Time) (PruneFilters, error) {
	var f PruneFilters
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return f, fmt.Errorf("filter %q: want KEY=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		switch k {
		case "until":
			t, err := parseUntil(v, now)
			if err != nil {
				return f, fmt.Errorf("filter %q: %v: %w", kv, err, errdefs.ErrInvalidArgument)
			}
			f.Until = t
		case "label":
			f.Labels = append(f.Labels, v)
		case "label!":
			f.NoLabels = append(f.NoLabels, v)
		default:
			return f, fmt.Errorf("filter %q: unknown key %q (known: until, label, label!): %w", kv, k, errdefs.ErrInvalidArgument)
		}
	}
	return f, nil
}

func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		sec, frac := math.Modf(s)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("until %q: want a duration (24h), RFC 3339 time, a date or Unix seconds", v)
}

// Match reports whether a container with these labels, created at
// created, passes the filters.
func (f PruneFilters) Match(created time.Time, labels map[string]string) bool {
	if !f.Until.IsZero() && !created.Before(f.Until) {
		return false
	}
	has := func(v string) bool {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		return ok && (!hasValue || got == want)
	}
	for _, v := range f.Labels {
		if !has(v) {
			return false
		}
	}
	for _, v := range f.NoLabels {
		if has(v) {
			return false
		}
	}
	return true
}

// Prune removes every stopped container (created, exited or dead) that
// passes f, as docker's container prune, and returns their ids (oldest
// first) and the bytes their own files took (the writable layer and the
// record). A container started meanwhile is kept. Other failures are
// joined into the error; the ids removed so far are returned with it.
func (m *Manager) Prune(ctx context.Context, f PruneFilters) (ids []string, reclaimed uint64, err error) {
	var errsOut []error
	for _, i := range m.List() {
		if i.State != Created && i.State != Exited && i.State != Dead {
			continue
		}
		if !f.Match(i.CreatedAt, i.Spec.Labels) {
			continue
		}
		size := dirSize(m.containerDir(i.ID))
		if err := m.RemoveWith(ctx, i.ID, RemoveOptions{}); err != nil {
			if errdefs.IsConflict(err) || errors.Is(err, errs.NoSuchContainer) {
				continue
			}
			errsOut = append(errsOut, err)
			continue
		}
		ids = append(ids, i.ID)
		reclaimed += size
	}
	return ids, reclaimed, errors.Join(errsOut...)
}

// dirSize is the size of the regular files under dir on dir's file
// system (the mounted root file system is not counted twice: its upper
// directory is).
func dirSize(dir string) uint64 {
	var st unix.Stat_t
	if unix.Lstat(dir, &st) != nil {
		return 0
	}
	dev := st.Dev
	var n uint64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var s unix.Stat_t
		if unix.Lstat(p, &s) != nil {
			return nil
		}
		if s.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			n += uint64(s.Size)
		}
		return nil
	})
	return n
}

// DefaultPsArgs are docker top's ps options when none are given.
var DefaultPsArgs = []string{"-ef"}

// Top lists the processes of a running or paused container, as docker's
// top: the host's ps runs with psArgs (DefaultPsArgs when empty) and only
// the rows of the processes in the container's cgroup (the scope's
// container/ cgroup and those below it) are kept. titles is ps's header;
// each process has one field per title, the last one (the command) with
// its spaces. A container that is not running is errdefs.ErrConflict; ps
// options whose output has no PID column, or a failing ps, are
// errdefs.ErrInvalidArgument with ps's message.
func (m *Manager) Top(ctx context.Context, ref string, psArgs []string) (titles []string, procs [][]string, err error) {
	info, err := m.Get(ref)
	if err != nil {
		return nil, nil, err
	}
	if (info.State != Running && info.State != Paused) || info.Run == nil {
		return nil, nil, fmt.Errorf("container %s is not running (%s): %w", info.Name, info.State, errdefs.ErrConflict)
	}
	cg, err := m.units.ControlGroup(ctx, info.Run.Unit)
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: %w", info.Name, err)
	}
	pids, err := cgroupPids(filepath.Join("/sys/fs/cgroup", cg, "container"))
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: %w", info.Name, err)
	}
	if len(psArgs) == 0 {
		psArgs = DefaultPsArgs
	}
	out, err := exec.CommandContext(ctx, "ps", psArgs...).Output()
	if err != nil {
		msg := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(bytes.TrimSpace(ee.Stderr)) > 0 {
			msg = string(bytes.TrimSpace(ee.Stderr))
		}
		return nil, nil, fmt.Errorf("ps %s: %s: %w", strings.Join(psArgs, " "), msg, errdefs.ErrInvalidArgument)
	}
	return parsePs(out, pids)
}

// cgroupPids reads cgroup.procs of dir and of every cgroup below it.
func cgroupPids(dir string) (map[int]bool, error) {
	pids := map[int]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup went away
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids[pid] = true
			}
		}
		return nil
	})
	return pids, err
}

// parsePs keeps the rows of ps output whose PID is in pids. The command,
// the last column, keeps its spaces.
func parsePs(out []byte, pids map[int]bool) ([]string, [][]string, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	titles := strings.Fields(lines[0])
	col := slices.Index(titles, "PID")
	if col < 0 {
		return nil, nil, fmt.Errorf("ps output has no PID column (titles %s): %w", strings.Join(titles, " "), errdefs.ErrInvalidArgument)
	}
	procs := [][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < len(titles) {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !pids[pid] {
			continue
		}
		row := append(f[:len(titles)-1:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		procs = append(procs, row)
	}
	return titles, procs, nil
}

// Sizes are docker's SizeRw (the bytes of the container's own layer: its
// overlay's upper directory) and SizeRootFs (those plus its image's), for
// ps --size and inspect --size. A container on a root file-system
// directory has no layer of its own: SizeRw is 0 and SizeRootFs is the
// directory's size.
func (m *Manager) Sizes(ref string) (rw, rootfs int64, err error) {
	info, err := m.Get(ref)
	if err != nil {
		return 0, 0, err
	}
	if info.Spec.Image == "" {
		return 0, int64(dirSize(info.Spec.Rootfs)), nil
	}
	rw = int64(dirSize(filepath.Join(m.containerDir(info.ID), "upper")))
	rootfs = rw
	if m.images != nil {
		if img, err := m.images.Get(info.Spec.ImageID); err == nil {
			rootfs += img.Size
		}
	}
	return rw, rootfs, nil
}
