package engineapi

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/ocispec"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// specFromCreate translates docker's create request into the engine
// core's Spec. Fields that berth cannot honour are refused by name
// (unsupported); the values of the rest are checked by the core at create.
func specFromCreate(req container.CreateRequest) (lifecycle.Spec, error) {
	var s lifecycle.Spec
	cfg := req.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	hc := req.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	if err := unsupported(cfg, hc); err != nil {
		return s, err
	}
	if cfg.Image == "" {
		return s, fmt.Errorf("no image given (Config.Image is empty): %w", errdefs.ErrInvalidArgument)
	}
	s.Image = cfg.Image
	s.Cmd = cfg.Cmd
	switch {
	case cfg.Entrypoint == nil:
	case len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "", len(cfg.Entrypoint) == 0:
		// docker's --entrypoint "": the image's entrypoint goes.
		s.Entrypoint = []string{}
	default:
		s.Entrypoint = cfg.Entrypoint
	}
	s.Env = cfg.Env
	s.Workdir = cfg.WorkingDir
	s.User = cfg.User
	s.Hostname = cfg.Hostname
	s.TTY = cfg.Tty
	s.Stdin = cfg.OpenStdin
	s.Labels = cfg.Labels
	s.StopSignal = cfg.StopSignal
	s.StopTimeout = cfg.StopTimeout
	if cfg.Healthcheck != nil {
		h := *cfg.Healthcheck
		s.Healthcheck = &h // checked by the core (docker's rules)
	}
	// docker run -v /path puts an anonymous volume into Config.Volumes;
	// docker-py puts every volume's destination there, with the volume in
	// Binds too, and a bind, mount or tmpfs at the path wins (docker's
	// rule).
	taken := destinations(hc)
	for _, p := range sortedKeys(cfg.Volumes) {
		if !taken[path.Clean(p)] {
			s.Binds = append(s.Binds, p)
		}
	}

	s.Binds = append(s.Binds, hc.Binds...)
	for _, m := range hc.Mounts {
		lm, err := mountFromAPI(m)
		if err != nil {
			return s, err
		}
		s.Mounts = append(s.Mounts, lm)
	}
	s.Tmpfs = hc.Tmpfs
	s.AutoRemove = hc.AutoRemove
	s.RestartPolicy = lifecycle.RestartPolicy{Name: string(hc.RestartPolicy.Name), MaximumRetryCount: hc.RestartPolicy.MaximumRetryCount}
	if err := lifecycle.CheckRestartPolicy(s.RestartPolicy); err != nil {
		return s, err
	}
	s.Privileged = hc.Privileged
	s.ReadonlyRootfs = hc.ReadonlyRootfs
	s.CapAdd = hc.CapAdd
	s.CapDrop = hc.CapDrop
	for _, d := range hc.Devices {
		s.Devices = append(s.Devices, ocispec.Device{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, CgroupPermissions: d.CgroupPermissions})
	}
	for _, u := range hc.Ulimits {
		if u == nil {
			continue
		}
		s.Ulimits = append(s.Ulimits, ocispec.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if hc.Init != nil {
		s.Init = *hc.Init
	}
	if hc.ShmSize < 0 {
		return s, fmt.Errorf("HostConfig.ShmSize: %d: must not be negative: %w", hc.ShmSize, errdefs.ErrInvalidArgument)
	}
	s.ShmSize = uint64(hc.ShmSize)
	s.ExtraHosts = hc.ExtraHosts
	for _, a := range hc.DNS {
		s.DNS = append(s.DNS, a.String())
	}
	s.DNSSearch = hc.DNSSearch
	s.DNSOptions = hc.DNSOptions
	s.GroupAdd = hc.GroupAdd
	s.Sysctls = hc.Sysctls
	s.SecurityOpt = hc.SecurityOpt
	s.PidMode = string(hc.PidMode)
	s.IpcMode = string(hc.IpcMode)
	s.OomScoreAdj = hc.OomScoreAdj
	s.Runtime = hc.Runtime
	s.ConsoleSize = hc.ConsoleSize
	var err error
	if s.Network, s.Endpoints, err = networkFromCreate(hc.NetworkMode, req.NetworkingConfig); err != nil {
		return s, err
	}
	s.PortBindings = portBindings(hc.PortBindings)
	s.PublishAllPorts = hc.PublishAllPorts
	s.ExposedPorts = exposedPorts(cfg.ExposedPorts)
	for _, f := range []struct {
		name string
		v    int64
	}{{"Memory", hc.Memory}, {"NanoCpus", hc.NanoCPUs}, {"CpuShares", hc.CPUShares}} {
		if f.v < 0 {
			return s, fmt.Errorf("HostConfig.%s: %d: must not be negative: %w", f.name, f.v, errdefs.ErrInvalidArgument)
		}
	}
	s.Memory = uint64(hc.Memory)
	s.NanoCPUs = uint64(hc.NanoCPUs)
	s.CPUShares = uint64(hc.CPUShares)
	if hc.PidsLimit != nil && *hc.PidsLimit > 0 {
		s.PidsLimit = uint64(*hc.PidsLimit)
	}
	return s, nil
}

// destinations are the container paths that HostConfig's binds, mounts
// and tmpfs mounts take, cleaned; the core checks their syntax.
func destinations(hc *container.HostConfig) map[string]bool {
	out := map[string]bool{}
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		if len(parts) > 1 {
			out[path.Clean(parts[1])] = true
		} else {
			out[path.Clean(parts[0])] = true
		}
	}
	for _, m := range hc.Mounts {
		out[path.Clean(m.Target)] = true
	}
	for t := range hc.Tmpfs {
		out[path.Clean(t)] = true
	}
	return out
}

// mountFromAPI translates one HostConfig.Mounts entry.
func mountFromAPI(m mount.Mount) (lifecycle.Mount, error) {
	lm := lifecycle.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	bad := func(what string) error {
		return fmt.Errorf("HostConfig.Mounts: %s is not supported by berth (mount of %q): %w", what, m.Target, errdefs.ErrInvalidArgument)
	}
	if m.Consistency != "" && m.Consistency != mount.ConsistencyDefault {
		return lm, bad("Consistency")
	}
	if m.ImageOptions != nil || m.ClusterOptions != nil {
		return lm, bad("an image or cluster mount")
	}
	if b := m.BindOptions; b != nil {
		if m.Type != mount.TypeBind {
			return lm, fmt.Errorf("HostConfig.Mounts: BindOptions given for a mount of type %q (target %q): %w", m.Type, m.Target, errdefs.ErrInvalidArgument)
		}
		if b.NonRecursive || b.CreateMountpoint || b.ReadOnlyNonRecursive || b.ReadOnlyForceRecursive {
			return lm, bad("BindOptions other than Propagation")
		}
		lm.BindPropagation = string(b.Propagation)
	}
	if v := m.VolumeOptions; v != nil {
		if m.Type != mount.TypeVolume {
			return lm, fmt.Errorf("HostConfig.Mounts: VolumeOptions given for a mount of type %q (target %q): %w", m.Type, m.Target, errdefs.ErrInvalidArgument)
		}
		if v.Subpath != "" {
			return lm, bad("VolumeOptions.Subpath")
		}
		if v.DriverConfig != nil && v.DriverConfig.Name != "" && v.DriverConfig.Name != "local" {
			return lm, bad("a volume driver other than local")
		}
		lm.VolumeNoCopy = v.NoCopy
		lm.VolumeLabels = v.Labels
	}
	if t := m.TmpfsOptions; t != nil {
		if m.Type != mount.TypeTmpfs {
			return lm, fmt.Errorf("HostConfig.Mounts: TmpfsOptions given for a mount of type %q (target %q): %w", m.Type, m.Target, errdefs.ErrInvalidArgument)
		}
		if len(t.Options) > 0 {
			return lm, bad("TmpfsOptions.Options")
		}
		lm.TmpfsSize = t.SizeBytes
		lm.TmpfsMode = t.Mode
	}
	return lm, nil
}

// unsupported refuses, by name, the fields of a create request that berth
// does not carry out: a client that asks for them would otherwise get a
// container that silently differs from what it asked for. Zero values and
// the defaults clients send are fine.
func unsupported(cfg *container.Config, hc *container.HostConfig) error {
	var bad []string
	check := func(prefix string, v any, allowed ...string) {
		bad = append(bad, askedFields(prefix, v, allowed...)...)
	}
	check("Config.", cfg, "Hostname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
		"StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "Labels", "StopSignal", "StopTimeout",
		"ArgsEscaped", "Shell", "OnBuild", "ExposedPorts", "Healthcheck")
	check("HostConfig.", hc, "Binds", "ContainerIDFile", "NetworkMode", "PortBindings", "PublishAllPorts", "AutoRemove", "ConsoleSize", "CapAdd", "CapDrop", "DNS",
		"DNSOptions", "DNSSearch", "ExtraHosts", "GroupAdd", "IpcMode", "OomScoreAdj", "PidMode", "Privileged",
		"ReadonlyRootfs", "SecurityOpt", "Tmpfs", "ShmSize", "Sysctls", "Runtime", "Mounts", "Init",
		// Checked below by value.
		"LogConfig", "RestartPolicy", "Isolation", "CgroupnsMode", "Resources", "MaskedPaths", "ReadonlyPaths")
	res := hc.Resources
	check("HostConfig.", &res, "CPUShares", "Memory", "NanoCPUs", "Devices", "PidsLimit", "Ulimits",
		// docker CLI's defaults: swap unlimited or as memory; -1,
		// "not set", checked below.
		"MemorySwap", "MemorySwappiness")
	if p := hc.MemorySwappiness; p != nil && *p != -1 && *p != 0 {
		bad = append(bad, "HostConfig.MemorySwappiness")
	}
	if cfg.StdinOnce && !cfg.OpenStdin {
		bad = append(bad, "Config.StdinOnce without OpenStdin")
	}
	switch hc.LogConfig.Type {
	case "", "journald", "local":
	default:
		bad = append(bad, fmt.Sprintf("HostConfig.LogConfig.Type %q (berth logs to journald and a local log)", hc.LogConfig.Type))
	}
	if len(hc.LogConfig.Config) > 0 {
		bad = append(bad, "HostConfig.LogConfig.Config")
	}
	switch hc.Isolation {
	case "", container.IsolationDefault:
	default:
		bad = append(bad, fmt.Sprintf("HostConfig.Isolation %q", hc.Isolation))
	}
	switch hc.CgroupnsMode {
	case "", container.CgroupnsModePrivate:
	default:
		bad = append(bad, fmt.Sprintf("HostConfig.CgroupnsMode %q (berth's containers have a private cgroup namespace)", hc.CgroupnsMode))
	}
	if hc.MaskedPaths != nil || hc.ReadonlyPaths != nil {
		bad = append(bad, "HostConfig.MaskedPaths/ReadonlyPaths")
	}
	if !defaultSwap(hc.Memory, hc.MemorySwap) {
		bad = append(bad, "HostConfig.MemorySwap")
	}
	if len(bad) > 0 {
		return fmt.Errorf("not supported by berth: %s: %w", strings.Join(bad, ", "), errdefs.ErrInvalidArgument)
	}
	return nil
}

// askedFields names, each after prefix, the fields of the struct v points
// to that ask for something (not empty) and are not allowed. Embedded
// structs are left to the caller.
func askedFields(prefix string, v any, allowed ...string) []string {
	var out []string
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Anonymous || slices.Contains(allowed, f.Name) || empty(rv.Field(i)) {
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

// defaultSwap reports whether a MemorySwap is one that berth honours by
// setting no swap limit: unset, unlimited (-1), or what docker's CLI
// derives from the memory limit (equal to it or twice it).
func defaultSwap(memory, swap int64) bool {
	return swap <= 0 || swap == memory || swap == 2*memory
}

// empty is a field's value that asks for nothing: zero, an empty slice or
// map (clients send [] and {} for "none"), or a pointer to such a value.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Pointer:
		return v.IsNil() || empty(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if !empty(v.Field(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero()
}

// reflectValue is the value v points to, for empty.
func reflectValue(v any) reflect.Value { return reflect.ValueOf(v).Elem() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
