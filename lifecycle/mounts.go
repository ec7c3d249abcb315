package lifecycle

import (
	"encoding/csv"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/berthd/berth/ocispec"
	"github.com/berthd/berth/volumes"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The kinds of mount (docker's mount types).
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one --mount, in the shape of docker's HostConfig.Mounts entry.
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// BindPropagation: rprivate (default), private, rshared, shared,
	// rslave, slave.
	BindPropagation string            `json:"bind_propagation,omitempty"`
	VolumeNoCopy    bool              `json:"volume_nocopy,omitempty"`
	VolumeLabels    map[string]string `json:"volume_labels,omitempty"`
	TmpfsSize       int64             `json:"tmpfs_size,omitempty"` // bytes; 0: the kernel's default
	TmpfsMode       os.FileMode       `json:"tmpfs_mode,omitempty"` // permission bits; 0: 1777
}

// MountPoint is one mount of a container as resolved at create: what
// inspect shows as Mounts and what becomes a mount of the OCI spec.
type MountPoint struct {
	Type        string `json:"type"`
	Name        string `json:"name,omitempty"`   // volume name
	Source      string `json:"source,omitempty"` // host path (a volume's _data)
	Destination string `json:"destination"`
	Mode        string `json:"mode,omitempty"` // -v's modes as given
	RW          bool   `json:"rw"`
	Propagation string `json:"propagation,omitempty"`
	// Anonymous volumes go with the container on rm -v and --rm.
	Anonymous bool `json:"anonymous,omitempty"`
	NoCopy    bool `json:"no_copy,omitempty"`
	// Labels are given to the volume if this mount creates it
	// (--mount volume-label).
	Labels map[string]string `json:"labels,omitempty"`
	// CreateHostDir: -v creates a missing host directory at start.
	CreateHostDir bool `json:"create_host_dir,omitempty"`
	// TmpfsOptions are the tmpfs's mount options (size=, mode=, flags).
	TmpfsOptions []string `json:"tmpfs_options,omitempty"`
}

var propagations = []string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}

// parseBool reads docker's boolean option values; "" (a bare key) is true.
func parseBool(key, v string) (bool, error) {
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("mount option %s=%s: want true or false", key, v)
	}
	return b, nil
}

// ParseMount reads docker's --mount syntax: comma-separated (CSV) key=value
// fields (type, source/src, target/destination/dst, readonly/ro,
// bind-propagation, volume-nocopy, volume-label, tmpfs-size, tmpfs-mode).
// Unknown fields are refused. The result is checked by CheckMount.
func ParseMount(s string) (Mount, error) {
	m := Mount{Type: MountVolume}
	// Fields are CSV, as docker's CLI reads them: a value with a comma
	// is quoted ("source=/a,b").
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return Mount{}, invalid("mount %s: %v", quote(s), err)
	}
	for _, field := range fields {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		var err error
		switch key {
		case "type":
			m.Type = val
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly, err = parseBool(key, val)
		case "bind-propagation":
			m.BindPropagation = val
		case "volume-nocopy":
			m.VolumeNoCopy, err = parseBool(key, val)
		case "volume-label":
			k, v, _ := strings.Cut(val, "=")
			if k == "" {
				return Mount{}, invalid("mount %s: volume-label %q: want KEY=VALUE", quote(s), val)
			}
			if m.VolumeLabels == nil {
				m.VolumeLabels = map[string]string{}
			}
			m.VolumeLabels[k] = v
		case "tmpfs-size":
			m.TmpfsSize, err = units.RAMInBytes(val)
			if err != nil || m.TmpfsSize <= 0 {
				return Mount{}, invalid("mount %s: tmpfs-size %q: want a size in bytes or with a unit (64m, 1g)", quote(s), val)
			}
		case "tmpfs-mode":
			var mode uint64
			mode, err = strconv.ParseUint(val, 8, 32)
			if err != nil || mode > 0o7777 {
				return Mount{}, invalid("mount %s: tmpfs-mode %q: want octal permission bits (e.g. 1777)", quote(s), val)
			}
			m.TmpfsMode = os.FileMode(mode)
		default:
			return Mount{}, invalid("mount %s: unknown field %q (known: type, source, target, readonly, bind-propagation, volume-nocopy, volume-label, tmpfs-size, tmpfs-mode)", quote(s), key)
		}
		if err != nil {
			return Mount{}, fmt.Errorf("mount %s: %w", quote(s), err)
		}
		if !hasVal && key != "readonly" && key != "ro" && key != "volume-nocopy" {
			return Mount{}, invalid("mount %s: field %q wants a value (%s=…)", quote(s), key, key)
		}
	}
	return m, nil
}

// checkDestination refuses a target that is not absolute, is the root or
// lies where the runtime mounts its own file systems.
func checkDestination(what, dst string) (string, error) {
	if len(dst) > MaxPathLen {
		return "", invalid("%s target %s: longer than %d bytes", what, quote(dst), MaxPathLen)
	}
	if !path.IsAbs(dst) {
		return "", invalid("%s target %s: not an absolute path", what, quote(dst))
	}
	dst = path.Clean(dst)
	if dst == "/" {
		return "", invalid("%s target %s: cannot mount over the root file system", what, quote(dst))
	}
	if err := ocispec.CheckDestination(dst); err != nil {
		return "", fmt.Errorf("%s target %s: %w", what, quote(dst), err)
	}
	return dst, nil
}

// parseBindMode reads the modes after -v's second colon: rw|ro, z|Z,
// nocopy, a propagation, comma-separated, each at most once.
func parseBindMode(spec, mode string, mp *MountPoint) error {
	var rw, label, prop, nocopy bool
	for _, m := range strings.Split(mode, ",") {
		switch {
		case m == "rw" || m == "ro":
			if rw {
				return invalid("volume %s: mode %q: rw and ro more than once", quote(spec), mode)
			}
			rw = true
			mp.RW = m == "rw"
		case m == "z" || m == "Z":
			if label {
				return invalid("volume %s: mode %q: z or Z more than once", quote(spec), mode)
			}
			label = true // SELinux relabelling: nothing to do without SELinux
		case m == "nocopy":
			if nocopy {
				return invalid("volume %s: mode %q: nocopy more than once", quote(spec), mode)
			}
			nocopy = true
			mp.NoCopy = true
		case slices.Contains(propagations, m):
			if prop {
				return invalid("volume %s: mode %q: more than one propagation", quote(spec), mode)
			}
			prop = true
			mp.Propagation = m
		default:
			return invalid("volume %s: unknown mode %q (known: rw, ro, z, Z, nocopy, %s)", quote(spec), m, strings.Join(propagations, ", "))
		}
	}
	return nil
}

// parseBind reads one -v HOST:CTR[:MODE], NAME:CTR[:MODE] or CTR[:MODE]
// (an anonymous volume). A first part that is not absolute is a volume
// name; a relative host path is refused as an invalid name.
func parseBind(spec string) (MountPoint, error) {
	parts := strings.Split(spec, ":")
	var src, dst, mode string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		if path.IsAbs(parts[0]) && !path.IsAbs(parts[1]) && parts[1] != "" {
			dst, mode = parts[0], parts[1] // CTR:MODE
		} else {
			src, dst = parts[0], parts[1]
		}
	case 3:
		src, dst, mode = parts[0], parts[1], parts[2]
	default:
		return MountPoint{}, invalid("volume %s: want HOST:CTR[:MODE], NAME:CTR[:MODE] or CTR", quote(spec))
	}
	mp := MountPoint{RW: true, Mode: mode}
	if mode != "" {
		if err := parseBindMode(spec, mode, &mp); err != nil {
			return MountPoint{}, err
		}
	}
	var err error
	if mp.Destination, err = checkDestination("volume "+quote(spec)+":", dst); err != nil {
		return MountPoint{}, err
	}
	switch {
	case src == "":
		if len(parts) > 1 && parts[0] == "" {
			return MountPoint{}, invalid("volume %s: the source is empty", quote(spec))
		}
		mp.Type, mp.Anonymous = MountVolume, true
	case path.IsAbs(src):
		if len(src) > MaxPathLen {
			return MountPoint{}, invalid("volume %s: host path longer than %d bytes", quote(spec), MaxPathLen)
		}
		mp.Type, mp.Source, mp.CreateHostDir = MountBind, path.Clean(src), true
		if mp.NoCopy {
			return MountPoint{}, invalid("volume %s: nocopy applies to volumes, not to host directories", quote(spec))
		}
	default:
		if err := volumes.CheckName(src); err != nil {
			return MountPoint{}, fmt.Errorf("volume %s: %w", quote(spec), err)
		}
		mp.Type, mp.Name = MountVolume, src
	}
	if mp.Type == MountBind && mp.Propagation == "" {
		mp.Propagation = "rprivate"
	}
	if mp.Type == MountVolume && mp.Propagation != "" {
		return MountPoint{}, invalid("volume %s: a propagation applies to host directories, not to volumes", quote(spec))
	}
	return mp, nil
}

// checkMount turns one --mount into a mount point. A bind's source must
// be an absolute path that exists (docker's rule for --mount).
func checkMount(m Mount) (MountPoint, error) {
	what := "mount type=" + m.Type
	dst, err := checkDestination(what, m.Target)
	if m.Target == "" {
		return MountPoint{}, invalid("%s: no target given", what)
	}
	if err != nil {
		return MountPoint{}, err
	}
	mp := MountPoint{Type: m.Type, Destination: dst, RW: !m.ReadOnly}
	if m.Type != MountBind && m.BindPropagation != "" {
		return MountPoint{}, invalid("%s: bind-propagation applies to type=bind only", what)
	}
	if m.Type != MountVolume && (m.VolumeNoCopy || len(m.VolumeLabels) > 0) {
		return MountPoint{}, invalid("%s: volume-nocopy and volume-label apply to type=volume only", what)
	}
	if m.Type != MountTmpfs && (m.TmpfsSize != 0 || m.TmpfsMode != 0) {
		return MountPoint{}, invalid("%s: tmpfs-size and tmpfs-mode apply to type=tmpfs only", what)
	}
	switch m.Type {
	case MountBind:
		if m.Source == "" {
			return MountPoint{}, invalid("%s: no source given", what)
		}
		if !filepath.IsAbs(m.Source) {
			return MountPoint{}, invalid("%s: source %s: not an absolute path", what, quote(m.Source))
		}
		if len(m.Source) > MaxPathLen {
			return MountPoint{}, invalid("%s: source longer than %d bytes", what, MaxPathLen)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return MountPoint{}, invalid("%s: bind source path does not exist: %s", what, m.Source)
		}
		mp.Source = filepath.Clean(m.Source)
		mp.Propagation = "rprivate"
		if m.BindPropagation != "" {
			if !slices.Contains(propagations, m.BindPropagation) {
				return MountPoint{}, invalid("%s: bind-propagation %q: want one of %s", what, m.BindPropagation, strings.Join(propagations, ", "))
			}
			mp.Propagation = m.BindPropagation
		}
	case MountVolume:
		if m.Source == "" {
			mp.Anonymous = true
		} else if err := volumes.CheckName(m.Source); err != nil {
			return MountPoint{}, fmt.Errorf("%s: %w", what, err)
		}
		mp.Name, mp.NoCopy, mp.Labels = m.Source, m.VolumeNoCopy, m.VolumeLabels
	case MountTmpfs:
		if m.Source != "" {
			return MountPoint{}, invalid("%s: a tmpfs takes no source", what)
		}
		mode := m.TmpfsMode
		if mode == 0 {
			mode = 0o1777
		}
		mp.TmpfsOptions = []string{"mode=" + strconv.FormatUint(uint64(mode), 8)}
		if m.TmpfsSize > 0 {
			mp.TmpfsOptions = append(mp.TmpfsOptions, "size="+strconv.FormatInt(m.TmpfsSize, 10))
		}
	default:
		return MountPoint{}, invalid("mount type %q: want bind, volume or tmpfs", m.Type)
	}
	return mp, nil
}

// tmpfsFlags are the flags a tmpfs takes besides size, mode, uid, gid and
// nr_inodes (docker's list).
var tmpfsFlags = []string{"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "sync", "async",
	"dirsync", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime", "mand", "nomand"}

// parseTmpfs reads one --tmpfs: a target and its comma-separated options.
func parseTmpfs(dst, opts string) (MountPoint, error) {
	what := "tmpfs " + quote(dst)
	d, err := checkDestination("tmpfs", dst)
	if err != nil {
		return MountPoint{}, err
	}
	mp := MountPoint{Type: MountTmpfs, Destination: d, RW: true}
	hasMode := false
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			k, v, hasVal := strings.Cut(o, "=")
			switch {
			case !hasVal && slices.Contains(tmpfsFlags, k):
				if k == "ro" {
					mp.RW = false
				}
				mp.TmpfsOptions = append(mp.TmpfsOptions, k)
			case k == "size" && hasVal:
				n, err := units.RAMInBytes(v)
				if err != nil || n <= 0 {
					return MountPoint{}, invalid("%s: size %q: want a size in bytes or with a unit (64m, 1g)", what, v)
				}
				mp.TmpfsOptions = append(mp.TmpfsOptions, "size="+strconv.FormatInt(n, 10))
			case k == "mode" && hasVal:
				m, err := strconv.ParseUint(v, 8, 32)
				if err != nil || m > 0o7777 {
					return MountPoint{}, invalid("%s: mode %q: want octal permission bits (e.g. 1777)", what, v)
				}
				hasMode = true
				mp.TmpfsOptions = append(mp.TmpfsOptions, "mode="+strconv.FormatUint(m, 8))
			case (k == "uid" || k == "gid" || k == "nr_inodes" || k == "nr_blocks") && hasVal:
				if _, err := strconv.ParseUint(v, 10, 32); err != nil {
					return MountPoint{}, invalid("%s: %s %q: want a number", what, k, v)
				}
				mp.TmpfsOptions = append(mp.TmpfsOptions, o)
			default:
				return MountPoint{}, invalid("%s: unknown option %q", what, o)
			}
		}
	}
	if !hasMode {
		mp.TmpfsOptions = append([]string{"mode=1777"}, mp.TmpfsOptions...)
	}
	mp.Mode = opts
	return mp, nil
}

// resolveMounts checks the spec's binds, mounts and tmpfs and lists the
// container's mount points in the order the runtime mounts them: the
// image's VOLUME entries that nothing else covers (as anonymous volumes),
// then -v, --mount and --tmpfs. Two mounts on one target are refused. It
// touches nothing but, for --mount binds, stats the source.
func resolveMounts(s *Spec) ([]MountPoint, error) {
	var out []MountPoint
	seen := map[string]string{}
	add := func(what string, mp MountPoint) error {
		if prev, ok := seen[mp.Destination]; ok {
			return invalid("%s: duplicate mount point %s (also %s)", what, mp.Destination, prev)
		}
		seen[mp.Destination] = what
		out = append(out, mp)
		return nil
	}
	for _, b := range s.Binds {
		mp, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if err := add("volume "+quote(b), mp); err != nil {
			return nil, err
		}
	}
	for _, m := range s.Mounts {
		mp, err := checkMount(m)
		if err != nil {
			return nil, err
		}
		if err := add("mount type="+m.Type+",target="+m.Target, mp); err != nil {
			return nil, err
		}
	}
	dsts := make([]string, 0, len(s.Tmpfs))
	for d := range s.Tmpfs {
		dsts = append(dsts, d)
	}
	slices.Sort(dsts)
	for _, d := range dsts {
		mp, err := parseTmpfs(d, s.Tmpfs[d])
		if err != nil {
			return nil, err
		}
		if err := add("tmpfs "+quote(d), mp); err != nil {
			return nil, err
		}
	}
	var img []MountPoint
	for _, v := range s.Volumes {
		d, err := checkDestination("image VOLUME", v)
		if err != nil {
			return nil, err
		}
		if _, ok := seen[d]; ok {
			continue // a mount of the user's wins, as with docker
		}
		seen[d] = "image VOLUME " + quote(v)
		img = append(img, MountPoint{Type: MountVolume, Destination: d, RW: true, Anonymous: true})
	}
	return append(img, out...), nil
}

// ociMount is the runtime's mount for a mount point.
func ociMount(mp MountPoint) specs.Mount {
	if mp.Type == MountTmpfs {
		opts := []string{"nosuid", "nodev", "noexec"}
		for _, o := range mp.TmpfsOptions {
			switch o {
			case "exec", "suid", "dev":
				opts = slices.DeleteFunc(opts, func(x string) bool { return x == "no"+o })
			}
			opts = append(opts, o)
		}
		return specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts}
	}
	prop := mp.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	rw := "rw"
	if !mp.RW {
		rw = "ro"
	}
	return specs.Mount{Destination: mp.Destination, Type: "bind", Source: mp.Source, Options: []string{"rbind", prop, rw}}
}

// checkResolvedTargets refuses mount points whose target, resolved inside
// the container's root file system rootfs (links in the image or in the
// container's own layer followed as the runtime follows them, within the
// root), lands where the runtime mounts its own file systems: an image
// with /mydev -> /dev must not get a host directory over its /dev (the
// runtime would then make its device nodes in the host's directory).
// Checked at create and again at each start, since the container can
// change its own files between runs.
func checkResolvedTargets(rootfs string, mps []MountPoint) error {
	for _, mp := range mps {
		full, err := securejoin.SecureJoin(rootfs, mp.Destination)
		if err != nil {
			return invalid("mount target %s: %v", quote(mp.Destination), err)
		}
		rel, err := filepath.Rel(rootfs, full)
		if err != nil {
			return invalid("mount target %s: %v", quote(mp.Destination), err)
		}
		resolved := "/" + filepath.ToSlash(rel)
		if resolved == "/." || resolved == "/" {
			return invalid("mount target %s: resolves to the root of the container's file system", quote(mp.Destination))
		}
		if err := checkMountKinds(mp, full); err != nil {
			return err
		}
		if resolved == mp.Destination {
			continue
		}
		if err := ocispec.CheckDestination(resolved); err != nil {
			return fmt.Errorf("mount target %s: resolves to %s in the container's file system: %w", quote(mp.Destination), quote(resolved), err)
		}
	}
	return nil
}

// checkMountKinds refuses a mount whose source and target differ in kind
// (a directory onto a file of the image, a file onto a directory), which
// the runtime would refuse at every start with its own words. A target
// that does not exist yet is made by the runtime and fits either.
func checkMountKinds(mp MountPoint, target string) error {
	tst, err := os.Stat(target)
	if err != nil {
		return nil
	}
	srcDir := true // volumes and tmpfs are directories
	if mp.Type == MountBind {
		sst, err := os.Stat(mp.Source)
		if err != nil {
			return nil // -v makes a missing source a directory at start
		}
		srcDir = sst.IsDir()
	}
	switch {
	case srcDir && !tst.IsDir():
		return invalid("mount target %s: a file in the container's file system; %s is a directory", quote(mp.Destination), mountSource(mp))
	case !srcDir && tst.IsDir():
		return invalid("mount target %s: a directory in the container's file system; %s is a file", quote(mp.Destination), mountSource(mp))
	}
	return nil
}

// mountSource names a mount's source for messages.
func mountSource(mp MountPoint) string {
	switch mp.Type {
	case MountVolume:
		return "volume " + quote(mp.Name)
	case MountTmpfs:
		return "a tmpfs"
	}
	return quote(mp.Source)
}
