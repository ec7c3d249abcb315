package ocispec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH of a container whose options set none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the container settings that shape the spec.
type Options struct {
	Rootfs          string
	Args            []string
	Env             []string
	Cwd             string
	User            string // "uid[:gid]" or "name[:group]", resolved in Rootfs
	Hostname        string
	Network         string // "none" or "host"
	TTY             bool
	ConsoleSize     [2]uint // [height, width] of the TTY at start; zero: unset
	NoNewPrivileges bool
	CgroupsPath     string
	// Mounts are the container's own mounts (binds, volumes, tmpfs, its
	// /etc files), after the runtime's: a parent before its children
	// whatever the order given. One at /dev/shm replaces the default.
	Mounts []specs.Mount

	// Docker's HostConfig options (hostconfig.go).
	ReadonlyRootfs   bool
	CapAdd, CapDrop  []string // docker's names ("NET_ADMIN", "CAP_NET_ADMIN", "ALL")
	Privileged       bool
	Devices          []Device
	Ulimits          []Ulimit
	Init             bool   // run InitPath (a host init, bound read-only) as PID 1
	ShmSize          uint64 // bytes of /dev/shm; 0: 64 MiB
	GroupAdd         []string
	Sysctls          map[string]string
	SecurityOpt      []string
	PidMode, IpcMode string
	OomScoreAdj      int
	// JoinPid and JoinIpc are namespaces to join (--pid and --ipc
	// container:ID: the other container's /proc/<pid>/ns/pid and
	// ns/ipc); set at each start, empty at create.
	JoinPid, JoinIpc string
	// JoinNet is a network namespace to join (a bind mount of one, or
	// /proc/PID/ns/net): the container's own on berth's networks, or
	// another container's (--network container:NAME).
	JoinNet string
}

// DefaultCapabilities is docker's default capability set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

var maskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

var readonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
}

// Validate checks the options that Generate would refuse (root file
// system, command, working directory, user, groups, host options) without
// building a spec.
func Validate(o Options) error {
	_, _, err := check(&o)
	return err
}

// check validates o, fills in defaults and resolves the user and the
// host options.
func check(o *Options) (*user.ExecUser, *resolved, error) {
	r, err := hostConfig(o)
	if err != nil {
		return nil, nil, err
	}
	u, err := checkProcess(o)
	return u, r, err
}

// checkProcess validates the process options and resolves the user.
func checkProcess(o *Options) (*user.ExecUser, error) {
	if !filepath.IsAbs(o.Rootfs) {
		return nil, invalid("root file system %q: not an absolute path", o.Rootfs)
	}
	if st, err := os.Stat(o.Rootfs); err != nil || !st.IsDir() {
		return nil, invalid("root file system %q: not a directory", o.Rootfs)
	}
	if len(o.Args) == 0 {
		return nil, invalid("no command given")
	}
	if o.Cwd == "" {
		o.Cwd = "/"
	}
	if !filepath.IsAbs(o.Cwd) {
		return nil, invalid("working directory %q: not an absolute path", o.Cwd)
	}
	for _, m := range o.Mounts {
		if err := CheckDestination(m.Destination); err != nil {
			return nil, fmt.Errorf("mount target %q: %w", m.Destination, err)
		}
	}
	if o.Init {
		if err := checkInitTarget(o.Rootfs); err != nil {
			return nil, err
		}
	}
	return resolveUser(o.Rootfs, o.User, o.GroupAdd)
}

// Generate builds the spec. The root file system must exist.
func Generate(o Options) (*specs.Spec, error) {
	u, r, err := check(&o)
	if err != nil {
		return nil, err
	}
	env := withDefaults(o.Env, o.Hostname, u.Home, o.TTY)
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: o.Rootfs},
		Hostname: o.Hostname,
		Process: &specs.Process{
			Terminal: o.TTY,
			User: specs.User{
				UID:            uint32(u.Uid),
				GID:            uint32(u.Gid),
				AdditionalGids: toUint32(u.Sgids),
			},
			Args:         o.Args,
			Env:          env,
			Cwd:          o.Cwd,
			Capabilities: &specs.LinuxCapabilities{}, // applyHostConfig
		},
		Mounts: withMounts(defaultMounts(o.Network == "host"), o.Mounts),
		Linux: &specs.Linux{
			CgroupsPath:   o.CgroupsPath,
			Namespaces:    namespaces(o.Network),
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
			Resources: &specs.LinuxResources{
				// Device access is a security rule, not a limit: deny all,
				// the runtime adds its default devices back.
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
	if o.Network == "host" {
		s.Hostname = ""
	}
	if o.TTY && o.ConsoleSize[0] > 0 && o.ConsoleSize[1] > 0 {
		// The runtime sizes the pty in init, before the process's first
		// instruction; a resize after the start would race it.
		s.Process.ConsoleSize = &specs.Box{Height: o.ConsoleSize[0], Width: o.ConsoleSize[1]}
	}
	if err := applyHostConfig(s, &o, r, u.Uid); err != nil {
		return nil, err
	}
	return s, nil
}

func namespaces(network string) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace}, {Type: specs.CgroupNamespace},
	}
	if network != "host" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return ns
}

func defaultMounts(hostNet bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
	if hostNet {
		// A sysfs mount needs its own network namespace; bind the host's.
		m[3] = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
	}
	return m
}

// runtimeManaged are the runtime's own mounts (and what lies under the
// first two): the kernel's and runc's, not the user's to replace.
var runtimeManaged = []string{"/proc", "/sys", "/dev", "/dev/pts", "/dev/mqueue"}

// CheckDestination refuses a mount target (absolute and clean) that is
// or lies under /proc or /sys, or is /dev, /dev/pts or /dev/mqueue: the
// runtime mounts those itself (InvalidArgument). Other paths under /dev
// (/dev/shm, /dev/log) are allowed, as with docker.
func CheckDestination(dst string) error {
	for _, r := range runtimeManaged {
		under := (r == "/proc" || r == "/sys") && strings.HasPrefix(dst, r+"/")
		if dst == r || under {
			return invalid("%s is managed by the container runtime (/proc, /sys, /dev, /dev/pts, /dev/mqueue); mount elsewhere", r)
		}
	}
	return nil
}

// withMounts appends the container's mounts to the defaults, shallower
// targets first (a parent is mounted before its children), dropping a
// default whose target one of them takes.
func withMounts(defaults, own []specs.Mount) []specs.Mount {
	if len(own) == 0 {
		return defaults
	}
	taken := map[string]bool{}
	for _, m := range own {
		taken[m.Destination] = true
	}
	out := make([]specs.Mount, 0, len(defaults)+len(own))
	for _, m := range defaults {
		if !taken[m.Destination] {
			out = append(out, m)
		}
	}
	sorted := slices.Clone(own)
	slices.SortStableFunc(sorted, func(a, b specs.Mount) int {
		return strings.Count(filepath.Clean(a.Destination), "/") - strings.Count(filepath.Clean(b.Destination), "/")
	})
	return append(out, sorted...)
}

func withDefaults(env []string, hostname, home string, tty bool) []string {
	has := func(k string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	out := append([]string(nil), env...)
	if !has("PATH") {
		out = append([]string{DefaultPath}, out...)
	}
	if hostname != "" && !has("HOSTNAME") {
		out = append(out, "HOSTNAME="+hostname)
	}
	if tty && !has("TERM") {
		out = append(out, "TERM=xterm")
	}
	if home != "" && !has("HOME") {
		out = append(out, "HOME="+home)
	}
	return out
}

// resolveUser resolves spec ("user[:group]") and the additional groups
// (names or ids, --group-add) in the root file system's files.
func resolveUser(rootfs, spec string, groupAdd []string) (*user.ExecUser, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	if spec == "" {
		spec = "0:0"
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, invalid("root file system %q: %v", rootfs, err)
	}
	defer root.Close()
	open := func(name string) io.Reader {
		f, err := root.Open(name)
		if err != nil {
			return nil
		}
		b, _ := io.ReadAll(io.LimitReader(f, 4<<20))
		f.Close()
		return strings.NewReader(string(b))
	}
	passwd, group := open("etc/passwd"), open("etc/group")
	u, err := user.GetExecUser(spec, defaults, passwd, group)
	if err != nil {
		if errors.Is(err, user.ErrNoPasswdEntries) || errors.Is(err, user.ErrNoGroupEntries) {
			return nil, invalid("user %q: not found in the root file system's /etc/passwd or /etc/group", spec)
		}
		return nil, invalid("user %q: %v", spec, err)
	}
	if len(groupAdd) > 0 {
		gids, err := user.GetAdditionalGroups(groupAdd, open("etc/group"))
		if err != nil {
			return nil, invalid("group-add %q: %v", groupAdd, err)
		}
		for _, g := range gids {
			if !slices.Contains(u.Sgids, g) {
				u.Sgids = append(u.Sgids, g)
			}
		}
	}
	return u, nil
}

func toUint32(v []int) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = uint32(x)
	}
	return out
}
