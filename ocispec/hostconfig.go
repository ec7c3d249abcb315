package ocispec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/pkg/apparmor"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/continuity/fs"
	"github.com/docker/go-units"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Device is one --device, docker's DeviceMapping: the host's device node
// PathOnHost at PathInContainer, with cgroup access CgroupPermissions
// (letters of "rwm").
type Device struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// Ulimit is one --ulimit, docker's shape: a resource by docker's name
// (nofile, nproc, core, ...) with soft and hard limits; -1 is unlimited.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// InitPath is where --init's binary appears in the container, docker's
// path, so that scripts that look for it find it.
const InitPath = "/sbin/docker-init"

// InitCandidates are the host binaries --init uses, first found wins:
// Debian's tini-static (what docker ships as docker-init), then
// catatonit (podman's). Both take "-- PROGRAM ARGS...".
var InitCandidates = []string{"/usr/bin/tini-static", "/usr/bin/catatonit", "/usr/libexec/podman/catatonit"}

// FindInit returns the host binary that --init bind-mounts, or an error
// saying what to install.
func FindInit() (string, error) {
	for _, p := range InitCandidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", invalid("init: no init binary on this host (looked for %s; install Debian's tini)", strings.Join(InitCandidates, ", "))
}

// checkInitTarget refuses --init when the runtime could not create the
// init's mount point: InitPath is not in the root file system and the
// nearest directory that is cannot be written (a read-only directory
// given as the root file system).
func checkInitTarget(rootfs string) error {
	target, err := fs.RootPath(rootfs, InitPath)
	if err != nil {
		return invalid("init: %s in the root file system: %v", InitPath, err)
	}
	if _, err := os.Lstat(target); err == nil {
		return nil
	}
	dir := filepath.Dir(target)
	for len(dir) > len(rootfs) {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return invalid("init: the root file system has no %s and %s cannot be written to add it: %v", InitPath, dir, err)
	}
	return nil
}

// nsSysctls are the kernel.* sysctls that an IPC namespace scopes
// (docker's list); fs.mqueue.* are IPC's too and net.* the network's.
var nsSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// Security is what --security-opt asks for.
type Security struct {
	NoNewPrivileges bool
	// Seccomp is "" (docker's default profile), "unconfined", or a
	// profile in docker's JSON format.
	Seccomp string
	// AppArmor is "" (none set), "unconfined" or a loaded profile.
	AppArmor string
}

// ParseSecurityOpt reads docker's --security-opt values:
// no-new-privileges[=true|false], seccomp=unconfined|builtin|JSON (the
// client reads a profile file and sends its contents, as docker's does)
// apparmor=PROFILE where AppArmor is enabled, and label=disable (SELinux
// labelling off: berth labels nothing, so it asks for what is so, and
// docker accepts it on every host). Anything else (other SELinux label=
// values, systempaths=, ...) is refused, naming it.
func ParseSecurityOpt(opts []string) (Security, error) {
	var s Security
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			s.NoNewPrivileges = true
			continue
		}
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":") // docker's older form
		}
		if !ok {
			return s, invalid("security-opt %s: want no-new-privileges, seccomp=PROFILE or apparmor=PROFILE", quote(opt))
		}
		switch k {
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, invalid("security-opt %s: want true or false", quote(opt))
			}
			s.NoNewPrivileges = b
		case "seccomp":
			switch v {
			case "builtin", "":
				s.Seccomp = ""
			case "unconfined":
				s.Seccomp = v
			default:
				if err := checkSeccomp(v); err != nil {
					return s, err
				}
				s.Seccomp = v
			}
		case "label":
			if v != "disable" {
				return s, invalid("security-opt %s: berth does not set SELinux labels (only label=disable is accepted)", quote(opt))
			}
		case "apparmor":
			if !apparmor.HostSupports() {
				return s, invalid("security-opt %s: AppArmor is not enabled on this host", quote(opt))
			}
			if v == "" {
				return s, invalid("security-opt %s: no profile named", quote(opt))
			}
			s.AppArmor = v
		default:
			return s, invalid("security-opt %s: unknown or unsupported (berth knows no-new-privileges, seccomp=, apparmor=)", quote(opt))
		}
	}
	return s, nil
}

// seccompActions are the actions the runtime knows.
var seccompActions = []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread,
	specs.ActTrap, specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}

// checkSeccomp refuses a profile that does not load or that names
// actions or architectures the runtime would refuse at start.
func checkSeccomp(profile string) error {
	sc, err := seccomp.LoadProfile(profile, &specs.Spec{Process: &specs.Process{}})
	if err != nil {
		return invalid("security-opt seccomp: not a valid seccomp profile (docker's JSON format): %v", err)
	}
	if !slices.Contains(seccompActions, sc.DefaultAction) {
		return invalid("security-opt seccomp: not a valid seccomp profile: unknown defaultAction %q", sc.DefaultAction)
	}
	for _, a := range sc.Architectures {
		if !strings.HasPrefix(string(a), "SCMP_ARCH_") {
			return invalid("security-opt seccomp: not a valid seccomp profile: unknown architecture %q", a)
		}
	}
	for _, c := range sc.Syscalls {
		if !slices.Contains(seccompActions, c.Action) {
			return invalid("security-opt seccomp: not a valid seccomp profile: unknown action %q for %v", c.Action, c.Names)
		}
	}
	return nil
}

// quote shows a value in an error, cut to a readable length (a seccomp
// profile can be long).
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// normalizeCaps turns docker's capability names ("net_admin",
// "CAP_NET_ADMIN") into the spec's ("CAP_NET_ADMIN"); "ALL" stays.
// A name the kernel does not know is refused.
func normalizeCaps(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, c := range in {
		u := strings.ToUpper(strings.TrimSpace(c))
		if u != "ALL" && !strings.HasPrefix(u, "CAP_") {
			u = "CAP_" + u
		}
		if u != "ALL" && !slices.Contains(cap.Known(), u) {
			return nil, invalid("%s %s: unknown capability", field, quote(c))
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// procStatus is read for berthd's own capability sets (a seam for tests).
var procStatus = "/proc/self/status"

// heldCapabilities are the capabilities in berthd's bounding set: the
// most a container started by berthd can have.
func heldCapabilities() ([]string, error) {
	f, err := os.Open(procStatus)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sets, err := cap.ParseProcPIDStatus(f)
	if err != nil {
		return nil, err
	}
	names, _ := cap.FromBitmap(sets[cap.Bounding])
	return names, nil
}

// hasCapability reports whether berthd holds name in its effective set.
func hasCapability(name string) bool {
	f, err := os.Open(procStatus)
	if err != nil {
		return false
	}
	defer f.Close()
	sets, err := cap.ParseProcPIDStatus(f)
	if err != nil {
		return false
	}
	names, _ := cap.FromBitmap(sets[cap.Effective])
	return slices.Contains(names, name)
}

// capabilitySet is docker's rule (TweakCapabilities): privileged gets all
// that berthd holds; cap-add ALL all but the dropped ones; cap-drop ALL
// only the added ones; otherwise the default set less the dropped plus
// the added.
func capabilitySet(add, drop []string, privileged bool, held []string) []string {
	switch {
	case privileged:
		return held
	case len(add) == 0 && len(drop) == 0:
		return slices.Clone(DefaultCapabilities)
	case slices.Contains(add, "ALL"):
		return slices.DeleteFunc(slices.Clone(held), func(c string) bool { return slices.Contains(drop, c) })
	case slices.Contains(drop, "ALL"):
		return slices.DeleteFunc(slices.Clone(add), func(c string) bool { return c == "ALL" })
	}
	out := slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return slices.Contains(drop, c) })
	for _, c := range add {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// checkCaps refuses unknown names, and added ones berthd does not hold
// itself (the runtime could not grant them).
func checkCaps(o *Options) (add, drop []string, err error) {
	if add, err = normalizeCaps("cap-add", o.CapAdd); err != nil {
		return nil, nil, err
	}
	if drop, err = normalizeCaps("cap-drop", o.CapDrop); err != nil {
		return nil, nil, err
	}
	if len(add) == 0 {
		return add, drop, nil
	}
	held, err := heldCapabilities()
	if err != nil {
		return nil, nil, fmt.Errorf("berthd's own capabilities: %w", err)
	}
	for _, c := range add {
		if c != "ALL" && !slices.Contains(held, c) {
			return nil, nil, invalid("cap-add %s: berthd does not hold this capability (not in its bounding set), so no container can have it", c)
		}
	}
	return add, drop, nil
}

// checkDevice resolves one --device on the host: a character or block
// device node, or, as docker, a directory, which gives every device node
// below it (containerd's device walk, which skips pts, shm, fd, mqueue
// and what is no device) at the same place below PathInContainer; a
// directory without any is refused, as is anything else.
func checkDevice(d Device) ([]specs.LinuxDevice, error) {
	if !filepath.IsAbs(d.PathOnHost) {
		return nil, invalid("device %s: not an absolute path", quote(d.PathOnHost))
	}
	if !filepath.IsAbs(d.PathInContainer) {
		return nil, invalid("device %s: container path %s is not absolute", quote(d.PathOnHost), quote(d.PathInContainer))
	}
	if d.CgroupPermissions == "" || strings.Trim(d.CgroupPermissions, "rwm") != "" {
		return nil, invalid("device %s: permissions %s: want letters of rwm", quote(d.PathOnHost), quote(d.CgroupPermissions))
	}
	for _, managed := range []string{"/proc", "/sys"} {
		if p := filepath.Clean(d.PathInContainer); p == managed || strings.HasPrefix(p, managed+"/") {
			return nil, invalid("device %s: container path %s is under %s, which the runtime manages", quote(d.PathOnHost), quote(d.PathInContainer), managed)
		}
	}
	// As docker: a link (/dev/serial/by-id/…) stands for its device.
	host := d.PathOnHost
	if real, err := filepath.EvalSymlinks(host); err == nil {
		host = real
	}
	if st, err := os.Stat(host); err == nil && st.IsDir() {
		var s specs.Spec
		s.Linux = &specs.Linux{Resources: &specs.LinuxResources{}}
		if err := oci.WithDevices(host, d.PathInContainer, d.CgroupPermissions)(context.Background(), nil, nil, &s); err != nil {
			return nil, invalid("device %s: %v", quote(d.PathOnHost), err)
		}
		if len(s.Linux.Devices) == 0 {
			return nil, invalid("device %s: a directory without device nodes", quote(d.PathOnHost))
		}
		return s.Linux.Devices, nil
	}
	dev, err := oci.DeviceFromPath(host)
	switch {
	case errors.Is(err, oci.ErrNotADevice):
		return nil, invalid("device %s: not a device node", quote(d.PathOnHost))
	case errors.Is(err, os.ErrNotExist):
		return nil, invalid("device %s: no such file", quote(d.PathOnHost))
	case err != nil:
		return nil, invalid("device %s: %v", quote(d.PathOnHost), err)
	case dev.Type != "c" && dev.Type != "b":
		return nil, invalid("device %s: not a device node (a fifo)", quote(d.PathOnHost))
	}
	dev.Path = d.PathInContainer
	return []specs.LinuxDevice{*dev}, nil
}

// rlimits turns ulimits into the spec's, refusing unknown names, a soft
// limit above the hard one and a hard limit above berthd's own when it
// cannot raise it (no CAP_SYS_RESOURCE).
func rlimits(ul []Ulimit) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, u := range ul {
		pu, err := units.ParseUlimit(fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
		if err != nil {
			return nil, invalid("ulimit %s=%d:%d: %v", u.Name, u.Soft, u.Hard, err)
		}
		rl, err := pu.GetRlimit()
		if err != nil {
			return nil, invalid("ulimit %s: %v", u.Name, err)
		}
		var own unix.Rlimit
		if err := unix.Getrlimit(rl.Type, &own); err == nil && rl.Hard > own.Max && !hasCapability("CAP_SYS_RESOURCE") {
			return nil, invalid("ulimit %s: hard limit %s is above berthd's own hard limit %s, which it cannot raise (no CAP_SYS_RESOURCE)",
				u.Name, limitString(rl.Hard), limitString(own.Max))
		}
		out = append(out, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: rl.Soft, Hard: rl.Hard})
	}
	return out, nil
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// checkSysctls allows only sysctls that the container's own namespaces
// scope (docker's rule), and none of a namespace shared with the host.
func checkSysctls(o *Options) error {
	for k := range o.Sysctls {
		if k == "" || strings.ContainsAny(k, "/ ") || slices.Contains(strings.Split(k, "."), "") {
			return invalid("sysctl %s: not a sysctl name", quote(k))
		}
		switch {
		case slices.Contains(nsSysctls, k) || strings.HasPrefix(k, "fs.mqueue."):
			if o.IpcMode == "host" {
				return invalid("sysctl %s: not allowed with --ipc host (it would change the host's)", quote(k))
			}
			if strings.HasPrefix(o.IpcMode, "container:") {
				return invalid("sysctl %s: not allowed with --ipc %s (it would change the other container's)", quote(k), o.IpcMode)
			}
		case strings.HasPrefix(k, "net."):
			if o.Network == "host" {
				return invalid("sysctl %s: not allowed with --network host (it would change the host's)", quote(k))
			}
		default:
			return invalid("sysctl %s: not a namespaced sysctl (allowed: net.*, fs.mqueue.*, %s)", quote(k), strings.Join(nsSysctls, ", "))
		}
	}
	return nil
}

// checkOomScoreAdj refuses values out of the kernel's range and, without
// CAP_SYS_RESOURCE, one below berthd's own (the kernel refuses lowering).
func checkOomScoreAdj(v int) error {
	if v < -1000 || v > 1000 {
		return invalid("oom-score-adj %d: want -1000 to 1000", v)
	}
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
		own, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && v < own && !hasCapability("CAP_SYS_RESOURCE") {
			return invalid("oom-score-adj %d: below berthd's own %d, which it cannot lower (no CAP_SYS_RESOURCE)", v, own)
		}
	}
	return nil
}

// CheckHostConfig checks the options beyond the process (capabilities,
// devices, ulimits, sysctls, security options, namespaces, init) against
// this host, without a root file system: what Generate would refuse.
func CheckHostConfig(o Options) error {
	_, err := hostConfig(&o)
	return err
}

// device is one device node for the container and its cgroup access.
type device struct {
	specs.LinuxDevice
	access string
}

// resolved is what the host options come to, checked.
type resolved struct {
	caps     []string
	devices  []device
	rlimits  []specs.POSIXRlimit
	security Security
	initPath string
}

func hostConfig(o *Options) (*resolved, error) {
	r := &resolved{}
	add, drop, err := checkCaps(o)
	if err != nil {
		return nil, err
	}
	if o.Privileged || slices.Contains(add, "ALL") {
		held, err := heldCapabilities()
		if err != nil {
			return nil, fmt.Errorf("berthd's own capabilities: %w", err)
		}
		r.caps = capabilitySet(add, drop, o.Privileged, held)
	} else {
		r.caps = capabilitySet(add, drop, false, nil)
	}
	for _, d := range o.Devices {
		devs, err := checkDevice(d)
		if err != nil {
			return nil, err
		}
		for _, dev := range devs {
			r.devices = append(r.devices, device{dev, d.CgroupPermissions})
		}
	}
	if r.rlimits, err = rlimits(o.Ulimits); err != nil {
		return nil, err
	}
	if err := checkSysctls(o); err != nil {
		return nil, err
	}
	if r.security, err = ParseSecurityOpt(o.SecurityOpt); err != nil {
		return nil, err
	}
	switch o.PidMode {
	case "", "host":
	default:
		if name, ok := strings.CutPrefix(o.PidMode, "container:"); !ok || name == "" {
			return nil, invalid("pid %s: want host or container:NAME (or nothing: the container's own)", quote(o.PidMode))
		}
	}
	switch o.IpcMode {
	case "", "private", "shareable", "host", "none":
	default:
		if name, ok := strings.CutPrefix(o.IpcMode, "container:"); !ok || name == "" {
			return nil, invalid("ipc %s: want private, shareable, host, none or container:NAME", quote(o.IpcMode))
		}
	}
	if o.OomScoreAdj != 0 {
		if err := checkOomScoreAdj(o.OomScoreAdj); err != nil {
			return nil, err
		}
	}
	if o.Init {
		if r.initPath, err = FindInit(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// applyHostConfig shapes s after the checked options r.
func applyHostConfig(s *specs.Spec, o *Options, r *resolved, uid int) error {
	c := s.Process.Capabilities
	c.Bounding = r.caps
	c.Effective, c.Permitted = r.caps, r.caps
	if uid != 0 {
		// Like docker: a non-root user keeps the bounding set only.
		c.Effective, c.Permitted = nil, nil
	}
	s.Root.Readonly = o.ReadonlyRootfs
	s.Process.Rlimits = r.rlimits
	s.Process.NoNewPrivileges = o.NoNewPrivileges || r.security.NoNewPrivileges
	if r.security.AppArmor != "" {
		s.Process.ApparmorProfile = r.security.AppArmor
	}
	if o.OomScoreAdj != 0 {
		v := o.OomScoreAdj
		s.Process.OOMScoreAdj = &v
	}
	if len(o.Sysctls) > 0 {
		s.Linux.Sysctl = o.Sysctls
	}
	for _, d := range r.devices {
		s.Linux.Devices = append(s.Linux.Devices, d.LinuxDevice)
		major, minor := d.Major, d.Minor
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: d.access})
	}
	drop := func(t specs.LinuxNamespaceType) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == t })
	}
	join := func(t specs.LinuxNamespaceType, path string) {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == t {
				s.Linux.Namespaces[i].Path = path
			}
		}
	}
	if o.PidMode == "host" {
		drop(specs.PIDNamespace)
	}
	if o.JoinPid != "" {
		join(specs.PIDNamespace, o.JoinPid)
	}
	for i := 0; i < len(s.Mounts); i++ {
		m := &s.Mounts[i]
		if m.Destination != "/dev/shm" {
			continue
		}
		switch {
		case o.IpcMode == "host":
			*m = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
		case o.IpcMode == "none":
			s.Mounts = slices.Delete(s.Mounts, i, i+1)
			i--
		case o.ShmSize > 0:
			m.Options = []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatUint(o.ShmSize, 10)}
		}
	}
	if o.IpcMode == "host" {
		drop(specs.IPCNamespace)
	}
	if o.JoinIpc != "" {
		join(specs.IPCNamespace, o.JoinIpc)
	}
	if o.JoinNet != "" && o.Network != "host" {
		join(specs.NetworkNamespace, o.JoinNet)
	}
	if o.Privileged {
		all, err := oci.HostDevices()
		if err != nil {
			return fmt.Errorf("privileged: the host's devices: %w", err)
		}
		s.Linux.Devices = append(s.Linux.Devices, all...)
		s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		for i := range s.Mounts {
			if m := &s.Mounts[i]; m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup" {
				m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
			}
		}
	}
	if r.initPath != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: InitPath, Type: "bind", Source: r.initPath, Options: []string{"bind", "ro", "nosuid", "nodev"}})
		s.Process.Args = append([]string{InitPath, "--"}, s.Process.Args...)
	}
	switch {
	case o.Privileged || r.security.Seccomp == "unconfined":
		s.Linux.Seccomp = nil
	case r.security.Seccomp != "":
		sc, err := seccomp.LoadProfile(r.security.Seccomp, s)
		if err != nil {
			return invalid("security-opt seccomp: %v", err)
		}
		s.Linux.Seccomp = sc
	default:
		sc, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return fmt.Errorf("default seccomp profile: %w", err)
		}
		s.Linux.Seccomp = sc
	}
	return nil
}
