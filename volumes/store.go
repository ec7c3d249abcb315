package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
)

// Version is the format version of volume.json.
const Version = 1

// Driver is the only driver: directories under data-root.
const Driver = "local"

// NameRE is what a volume name must match (docker's rule).
var NameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// MaxNameLen bounds volume names (a path component).
const MaxNameLen = 255

// Volume is volume.json.
type Volume struct {
	Version   int               `json:"version"`
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	CreatedAt time.Time         `json:"created_at"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Anonymous volumes were made for one container (an image's VOLUME,
	// -v /path) and go with it on rm -v and --rm.
	Anonymous bool `json:"anonymous,omitempty"`
	// Mountpoint is the _data directory (not stored: it follows the
	// store's root).
	Mountpoint string `json:"-"`
}

// Store holds the volumes under one data-root.
type Store struct {
	root string
	log  *slog.Logger

	mu   sync.Mutex
	vols map[string]*Volume
	refs map[string]map[string]bool // volume name → container ids
	// changed is called, without the mutex, after volumes came or went.
	changed func()
}

// Open reads every volume under dataRoot/volumes, creating the directory
// (0700) and deleting what an interrupted create or removal left.
func Open(dataRoot string, log *slog.Logger) (*Store, error) {
	root := filepath.Join(dataRoot, "volumes")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return nil, err
	}
	s := &Store{root: root, log: log, vols: map[string]*Volume{}, refs: map[string]map[string]bool{}}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			os.RemoveAll(filepath.Join(root, name))
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, name, "volume.json"))
		if err != nil {
			log.Error("unreadable volume, skipped", "volume", name, "err", err)
			continue
		}
		var v Volume
		if err := json.Unmarshal(b, &v); err != nil || v.Name != name {
			log.Error("unreadable volume record, skipped", "volume", name, "err", err)
			continue
		}
		if v.Version > Version {
			log.Error("volume record from a newer berthd, skipped", "volume", name, "version", v.Version)
			continue
		}
		v.Mountpoint = s.dataDir(name)
		clearCopyUps(filepath.Join(root, name))
		s.vols[name] = &v
	}
	return s, nil
}

// OnChange sets the function called (without locks held) after volumes
// were created or removed.
func (s *Store) OnChange(f func()) {
	s.mu.Lock()
	s.changed = f
	s.mu.Unlock()
}

func (s *Store) notify() {
	s.mu.Lock()
	f := s.changed
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

func (s *Store) dataDir(name string) string { return filepath.Join(s.root, name, "_data") }

// CheckName refuses a name that is not a valid volume name.
func CheckName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("volume name %q: longer than %d bytes: %w", name[:64]+"...", MaxNameLen, errdefs.ErrInvalidArgument)
	}
	if !NameRE.MatchString(name) {
		return fmt.Errorf("volume name %q: includes invalid characters for a local volume name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (and at least two); a host directory must be given as an absolute path: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// NewAnonymousName returns a fresh name for an anonymous volume (64 hex
// digits, as docker).
func NewAnonymousName() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateOptions are what a client may ask of a new volume (docker's
// volume create, the D-Bus CreateVolume).
type CreateOptions struct {
	// Name is the volume's name; empty makes a random one (64 hex
	// digits, as docker).
	Name string
	// Driver is "" or Driver ("local"), the only one.
	Driver string
	Labels map[string]string
	// DriverOpts are docker's local driver options (type, o, device: a
	// mount made at the first use); berth's volumes are plain
	// directories, so any option is refused.
	DriverOpts map[string]string
	// Anonymous marks a volume made for one container.
	Anonymous bool
}

// Check refuses options berth cannot carry out (errdefs.ErrInvalidArgument
// naming the option); it does not check the name, which may be empty.
func (o CreateOptions) Check() error {
	if o.Driver != "" && o.Driver != Driver {
		return fmt.Errorf("volume driver %q: only %q is available: %w", o.Driver, Driver, errdefs.ErrInvalidArgument)
	}
	if len(o.DriverOpts) > 0 {
		return fmt.Errorf("volume driver options (%s): not supported by berth: its local volumes are plain directories, not mounts of a device or file system given by type, o and device: %w",
			strings.Join(slices.Sorted(maps.Keys(o.DriverOpts)), ", "), errdefs.ErrInvalidArgument)
	}
	for k := range o.Labels {
		if k == "" {
			return fmt.Errorf("volume label with an empty key: %w", errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// Create creates a volume; an existing one of that name is returned as it
// is (docker's volume create is idempotent), created false. Bad options or
// a bad name are errdefs.ErrInvalidArgument and create nothing.
func (s *Store) Create(o CreateOptions) (v Volume, created bool, err error) {
	if err := o.Check(); err != nil {
		return Volume{}, false, err
	}
	if o.Name == "" {
		o.Name = NewAnonymousName()
	}
	if err := CheckName(o.Name); err != nil {
		return Volume{}, false, err
	}
	s.mu.Lock()
	v, created, err = s.createLocked(o.Name, o.Labels, o.Anonymous)
	s.mu.Unlock()
	if created {
		s.notify()
	}
	return v, created, err
}

func (s *Store) createLocked(name string, labels map[string]string, anonymous bool) (Volume, bool, error) {
	if v, ok := s.vols[name]; ok {
		return s.copyOf(v), false, nil
	}
	v := &Volume{Version: Version, Name: name, Driver: Driver, CreatedAt: time.Now().UTC(), Labels: maps.Clone(labels), Anonymous: anonymous}
	stage, err := os.MkdirTemp(s.root, ".staging-")
	if err != nil {
		return Volume{}, false, err
	}
	err = os.Chmod(stage, 0o755)
	if err == nil {
		err = os.Mkdir(filepath.Join(stage, "_data"), 0o755)
	}
	if err == nil {
		err = atomicfile.WriteJSON(filepath.Join(stage, "volume.json"), v, 0o600)
	}
	if err == nil {
		err = os.Rename(stage, filepath.Join(s.root, name))
	}
	if err != nil {
		os.RemoveAll(stage)
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	v.Mountpoint = s.dataDir(name)
	s.vols[name] = v
	event(events.VolumeCreated, name)
	return s.copyOf(v), true, nil
}

func (s *Store) copyOf(v *Volume) Volume {
	c := *v
	c.Labels = maps.Clone(v.Labels)
	return c
}

// Get returns a volume by name.
func (s *Store) Get(name string) (Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		return Volume{}, fmt.Errorf("volume %q: %w", name, errs.NoSuchVolume)
	}
	return s.copyOf(v), nil
}

// Entry is a volume with its users (container ids).
type Entry struct {
	Volume
	Users []string
}

// List returns the volumes matching every filter (see Match), by name.
func (s *Store) List(filters []string) ([]Entry, error) {
	f, err := ParseFilters(filters, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for name, v := range s.vols {
		e := Entry{Volume: s.copyOf(v), Users: s.usersLocked(name)}
		if f.Match(e) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Store) usersLocked(name string) []string {
	out := slices.Collect(maps.Keys(s.refs[name]))
	sort.Strings(out)
	return out
}

// Users returns the ids of the containers that use the volume.
func (s *Store) Users(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usersLocked(name)
}

// Acquire records that container id uses the volume, creating it first if
// it does not exist (created says so; a new volume gets labels and
// anonymous, an existing one keeps its own). Acquiring again is harmless.
func (s *Store) Acquire(name, id string, labels map[string]string, anonymous bool) (v Volume, created bool, err error) {
	if err := CheckName(name); err != nil {
		return Volume{}, false, err
	}
	s.mu.Lock()
	v, created, err = s.createLocked(name, labels, anonymous)
	if err == nil {
		if s.refs[name] == nil {
			s.refs[name] = map[string]bool{}
		}
		s.refs[name][id] = true
	}
	s.mu.Unlock()
	if created {
		s.notify()
	}
	return v, created, err
}

// Ref records that container id uses the volume, whether or not it exists
// now (a start creates it again): for rebuilding the counts at load.
func (s *Store) Ref(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs[name] == nil {
		s.refs[name] = map[string]bool{}
	}
	s.refs[name][id] = true
}

// Release forgets that container id uses the volume.
func (s *Store) Release(name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refs[name], id)
	if len(s.refs[name]) == 0 {
		delete(s.refs, name)
	}
}

// Remove deletes a volume and its content. A volume that containers use
// is refused (errdefs.ErrConflict, naming them) unless force, and even
// then if live reports one of them as running (or starting). live is
// called with the store's mutex held.
func (s *Store) Remove(ctx context.Context, name string, force bool, live func(id string) bool) error {
	s.mu.Lock()
	v, ok := s.vols[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("volume %q: %w", name, errs.NoSuchVolume)
	}
	users := s.usersLocked(name)
	if len(users) > 0 {
		short := make([]string, len(users))
		for i, u := range users {
			short[i] = u[:min(12, len(u))]
		}
		if !force {
			s.mu.Unlock()
			return fmt.Errorf("volume %s is in use by container(s) %s (remove them first, or use force): %w", v.Name, strings.Join(short, ", "), errdefs.ErrConflict)
		}
		for i, u := range users {
			if live != nil && live(u) {
				s.mu.Unlock()
				return fmt.Errorf("volume %s is in use by running container %s, even with force: %w", v.Name, short[i], errdefs.ErrConflict)
			}
		}
	}
	trash, err := s.trashLocked(name)
	if err == nil {
		delete(s.vols, name)
		delete(s.refs, name)
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	event(events.VolumeDestroyed, name)
	s.notify()
	if err := os.RemoveAll(trash); err != nil {
		s.log.Warn("cannot delete a removed volume's content; the next start deletes it", "volume", name, "err", err)
	}
	return nil
}

// event writes a volume's event to the journal.
func event(k events.Kind, name string) {
	events.Emit(k, "berthd", "volume "+name+": "+k.Action, events.Field{Name: events.FieldVolumeName, Value: name})
}

// trashLocked renames the volume's directory out of the way.
func (s *Store) trashLocked(name string) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	trash := filepath.Join(s.root, ".trash-"+hex.EncodeToString(b))
	if err := os.Rename(filepath.Join(s.root, name), trash); err != nil {
		return "", err
	}
	return trash, nil
}

// Pruned is what Prune removed.
type Pruned struct {
	Names []string
	Bytes uint64
}

// Prune removes the volumes that no container uses and that match the
// filters: anonymous ones only, as docker 23 and later, unless all.
func (s *Store) Prune(ctx context.Context, all bool, filters []string) (Pruned, error) {
	f, err := ParseFilters(filters, true)
	if err != nil {
		return Pruned{}, err
	}
	var trash []string
	var p Pruned
	s.mu.Lock()
	for name, v := range s.vols {
		if len(s.refs[name]) > 0 || (!all && !v.Anonymous) || !f.Match(Entry{Volume: *v}) {
			continue
		}
		t, err := s.trashLocked(name)
		if err != nil {
			s.log.Warn("cannot prune volume", "volume", name, "err", err)
			continue
		}
		delete(s.vols, name)
		trash = append(trash, t)
		p.Names = append(p.Names, name)
		event(events.VolumeDestroyed, name)
	}
	s.mu.Unlock()
	sort.Strings(p.Names)
	if len(p.Names) > 0 {
		s.notify()
	}
	for _, t := range trash {
		if u, err := fs.DiskUsage(ctx, t); err == nil {
			p.Bytes += uint64(u.Size)
		}
		os.RemoveAll(t)
	}
	return p, nil
}

// CopyUp fills the empty volume name with the content of dir (a directory
// in a container's root file system), keeping ownership, modes and
// extended attributes, as docker does for a volume mounted over image
// content. A volume that has content already, or a dir that is not a
// directory, is left alone; it reports whether it copied.
func (s *Store) CopyUp(name, dir string) (bool, error) {
	data := s.dataDir(name)
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return false, nil
	}
	f, err := os.Open(data)
	if err != nil {
		return false, fmt.Errorf("volume %s: %w", name, err)
	}
	_, err = f.Readdirnames(1)
	f.Close()
	if err == nil {
		return false, nil // not empty
	}
	if !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("volume %s: %w", name, err)
	}
	s.mu.Lock()
	shared := len(s.refs[name]) > 1
	s.mu.Unlock()
	if shared {
		// Another container has the volume already (bound to this
		// directory): fill it in place, so that it sees the content,
		// as with docker.
		if err := fs.CopyDir(data, dir, fs.WithAllowXAttrErrors()); err != nil {
			return false, fmt.Errorf("volume %s: copy the image's %s: %w", name, dir, err)
		}
		return true, nil
	}
	// The copy is made beside _data and renamed over it (rename(2)
	// replaces an empty directory): a copy cut short by a crash never
	// looks like a filled volume; what it left is removed here next time
	// and at Open.
	clearCopyUps(filepath.Dir(data))
	tmp, err := os.MkdirTemp(filepath.Dir(data), copyUpPrefix)
	if err != nil {
		return false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := fs.CopyDir(tmp, dir, fs.WithAllowXAttrErrors()); err != nil {
		os.RemoveAll(tmp)
		return false, fmt.Errorf("volume %s: copy the image's %s: %w", name, dir, err)
	}
	// unix.Rename, not os.Rename: Go refuses any directory as the new
	// name, rename(2) takes an empty one.
	if err := unix.Rename(tmp, data); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
			return false, nil // filled meanwhile by another user
		}
		return false, fmt.Errorf("volume %s: %w", name, err)
	}
	return true, nil
}

// copyUpPrefix names a copy-up under way in a volume's directory.
const copyUpPrefix = ".copyup-"

// clearCopyUps removes what interrupted copy-ups left in a volume's
// directory.
func clearCopyUps(volDir string) {
	ents, _ := os.ReadDir(volDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), copyUpPrefix) {
			os.RemoveAll(filepath.Join(volDir, e.Name()))
		}
	}
}
