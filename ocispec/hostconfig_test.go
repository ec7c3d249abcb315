package ocispec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeStatus points procStatus at a status file with these bounding and
// effective sets (hex bitmaps).
func fakeStatus(t *testing.T, bounding, effective string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "status")
	os.WriteFile(p, []byte("Name:\tberthd\nCapInh:\t0000000000000000\nCapPrm:\t"+effective+"\nCapEff:\t"+effective+"\nCapBnd:\t"+bounding+"\nCapAmb:\t0000000000000000\n"), 0o644)
	old := procStatus
	procStatus = p
	t.Cleanup(func() { procStatus = old })
}

func TestCapabilitySet(t *testing.T) {
	held := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"}
	for _, tc := range []struct {
		name       string
		add, drop  []string
		privileged bool
		want       []string
	}{
		{"default", nil, nil, false, DefaultCapabilities},
		{"privileged", nil, []string{"CAP_KILL"}, true, held},
		{"drop all add one", []string{"CAP_NET_BIND_SERVICE"}, []string{"ALL"}, false, []string{"CAP_NET_BIND_SERVICE"}},
		{"add all drop one", []string{"ALL"}, []string{"CAP_KILL"}, false, []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"}},
		{"drop one add one", []string{"CAP_NET_ADMIN"}, []string{"CAP_MKNOD"}, false,
			append(slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_MKNOD" }), "CAP_NET_ADMIN")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := capabilitySet(tc.add, tc.drop, tc.privileged, held); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostConfigSpec(t *testing.T) {
	// Bounding: all of 0-40 but CAP_SYS_RESOURCE (24), as on this VM.
	fakeStatus(t, "000001fffeffffff", "000001fffeffffff")
	init := filepath.Join(t.TempDir(), "tini-static")
	os.WriteFile(init, []byte("#!/bin/sh\n"), 0o755)
	oldInit := InitCandidates
	InitCandidates = []string{"/nonexistent/tini", init}
	t.Cleanup(func() { InitCandidates = oldInit })

	gen := func(t *testing.T, o Options) *specs.Spec {
		t.Helper()
		o.Rootfs, o.Args = rootfs(t), []string{"sh", "-c", "x"}
		s, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("cap-drop ALL cap-add one, lower-case and without CAP_", func(t *testing.T) {
		s := gen(t, Options{CapDrop: []string{"all"}, CapAdd: []string{"net_bind_service"}})
		if c := s.Process.Capabilities; !slices.Equal(c.Effective, []string{"CAP_NET_BIND_SERVICE"}) || !slices.Equal(c.Bounding, c.Effective) {
			t.Fatalf("capabilities %+v", c)
		}
		if s.Linux.Seccomp == nil {
			t.Fatal("seccomp profile dropped")
		}
	})
	t.Run("cap-add of a capability berthd lacks", func(t *testing.T) {
		_, err := Generate(Options{Rootfs: rootfs(t), Args: []string{"sh"}, CapAdd: []string{"SYS_RESOURCE"}})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "CAP_SYS_RESOURCE") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("privileged", func(t *testing.T) {
		s := gen(t, Options{Privileged: true})
		c := s.Process.Capabilities
		if len(c.Effective) != 40 || slices.Contains(c.Effective, "CAP_SYS_RESOURCE") || !slices.Contains(c.Effective, "CAP_SYS_ADMIN") {
			t.Fatalf("capabilities %v", c.Effective)
		}
		if s.Linux.Seccomp != nil || s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
			t.Fatal("seccomp or masked paths kept")
		}
		if r := s.Linux.Resources.Devices; len(r) != 1 || !r[0].Allow || r[0].Access != "rwm" {
			t.Fatalf("device rules %+v", r)
		}
		if !slices.ContainsFunc(s.Linux.Devices, func(d specs.LinuxDevice) bool { return d.Path == "/dev/null" }) {
			t.Fatal("host devices missing")
		}
		for _, m := range s.Mounts {
			if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && slices.Contains(m.Options, "ro") {
				t.Fatalf("%s read-only", m.Destination)
			}
		}
	})
	t.Run("everything else", func(t *testing.T) {
		s := gen(t, Options{
			ReadonlyRootfs: true, Init: true, ShmSize: 1 << 20, PidMode: "host", OomScoreAdj: 300,
			Sysctls:     map[string]string{"net.ipv4.ip_forward": "1"},
			Ulimits:     []Ulimit{{Name: "nofile", Soft: 100, Hard: 200}},
			Devices:     []Device{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw"}},
			SecurityOpt: []string{"no-new-privileges=true", "seccomp=unconfined"},
		})
		if !s.Root.Readonly || !s.Process.NoNewPrivileges || s.Linux.Seccomp != nil {
			t.Fatalf("readonly %v, no_new_privs %v, seccomp %v", s.Root.Readonly, s.Process.NoNewPrivileges, s.Linux.Seccomp != nil)
		}
		if want := []string{InitPath, "--", "sh", "-c", "x"}; !slices.Equal(s.Process.Args, want) {
			t.Fatalf("args %q", s.Process.Args)
		}
		if !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool {
			return m.Destination == InitPath && m.Source == init && slices.Contains(m.Options, "ro")
		}) {
			t.Fatalf("init not bound read-only: %+v", s.Mounts)
		}
		if !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool {
			return m.Destination == "/dev/shm" && slices.Contains(m.Options, "size=1048576")
		}) {
			t.Fatal("shm size")
		}
		if slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.PIDNamespace }) {
			t.Fatal("pid namespace kept with --pid host")
		}
		if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != 300 || s.Linux.Sysctl["net.ipv4.ip_forward"] != "1" {
			t.Fatal("oom score or sysctl")
		}
		if r := s.Process.Rlimits; len(r) != 1 || r[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}) {
			t.Fatalf("rlimits %+v", r)
		}
		d := s.Linux.Devices
		if len(d) != 1 || d[0].Path != "/dev/mynull" || d[0].Type != "c" || d[0].Major != 1 || d[0].Minor != 3 {
			t.Fatalf("devices %+v", d)
		}
		rules := s.Linux.Resources.Devices
		if last := rules[len(rules)-1]; !last.Allow || last.Access != "rw" || *last.Major != 1 || *last.Minor != 3 {
			t.Fatalf("device rule %+v", last)
		}
	})
	t.Run("ipc host shares /dev/shm", func(t *testing.T) {
		s := gen(t, Options{IpcMode: "host"})
		if slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.IPCNamespace }) {
			t.Fatal("ipc namespace kept")
		}
		if !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool {
			return m.Destination == "/dev/shm" && m.Source == "/dev/shm" && m.Type == "bind"
		}) {
			t.Fatal("/dev/shm not the host's")
		}
	})
	t.Run("seccomp profile", func(t *testing.T) {
		s := gen(t, Options{SecurityOpt: []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`}})
		if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) != 1 {
			t.Fatalf("seccomp %+v", s.Linux.Seccomp)
		}
	})
	t.Run("group-add", func(t *testing.T) {
		s := gen(t, Options{GroupAdd: []string{"extra", "1234"}})
		if g := s.Process.User.AdditionalGids; !slices.Contains(g, 50) || !slices.Contains(g, 1234) {
			t.Fatalf("gids %v", g)
		}
		if _, err := Generate(Options{Rootfs: rootfs(t), Args: []string{"sh"}, GroupAdd: []string{"nosuchgroup"}}); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "group-add") {
			t.Fatalf("unknown group: %v", err)
		}
	})
	t.Run("no init binary", func(t *testing.T) {
		InitCandidates = []string{"/nonexistent/tini"}
		defer func() { InitCandidates = []string{init} }()
		if err := CheckHostConfig(Options{Init: true}); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "tini") {
			t.Fatalf("got %v", err)
		}
	})
}

// A directory given to --device gives every device node below it, at the
// same place below the container path, with the rule's permissions.
func TestDeviceDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for mknod")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, minor := range map[string]uint32{"null": 3, "sub/zero": 5} {
		if err := unix.Mknod(filepath.Join(dir, name), unix.S_IFCHR|0o666, int(unix.Mkdev(1, minor))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-device"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := hostConfig(&Options{Devices: []Device{{PathOnHost: dir, PathInContainer: "/dev/mine", CgroupPermissions: "r"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range r.devices {
		got = append(got, fmt.Sprintf("%s %s %d:%d %s", d.Path, d.Type, d.Major, d.Minor, d.access))
	}
	slices.Sort(got)
	if want := []string{"/dev/mine/null c 1:3 r", "/dev/mine/sub/zero c 1:5 r"}; !slices.Equal(got, want) {
		t.Errorf("devices %q, want %q", got, want)
	}
	empty := t.TempDir()
	if _, err := hostConfig(&Options{Devices: []Device{{PathOnHost: empty, PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}}); err == nil ||
		!strings.Contains(err.Error(), "without device nodes") {
		t.Errorf("an empty directory: %v", err)
	}
}

// A link to a device stands for the device (docker follows it); a device
// put under /proc or /sys is refused at once.
func TestDeviceLinkAndManagedPaths(t *testing.T) {
	link := filepath.Join(t.TempDir(), "by-id")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	r, err := hostConfig(&Options{Devices: []Device{{PathOnHost: link, PathInContainer: "/dev/mine", CgroupPermissions: "rwm"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.devices) != 1 || r.devices[0].Path != "/dev/mine" || r.devices[0].Major != 1 || r.devices[0].Minor != 3 {
		t.Errorf("devices of a link to /dev/null: %+v", r.devices)
	}
	for _, target := range []string{"/proc/x", "/sys", "/sys/../sys/y"} {
		_, err := hostConfig(&Options{Devices: []Device{{PathOnHost: "/dev/null", PathInContainer: target, CgroupPermissions: "rwm"}}})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "runtime manages") {
			t.Errorf("device at %s: %v", target, err)
		}
	}
}

// label=disable is accepted (berth labels nothing); other label values
// are refused by name.
func TestSecurityOptLabel(t *testing.T) {
	for _, ok := range []string{"label=disable", "label:disable"} {
		if _, err := ParseSecurityOpt([]string{ok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := ParseSecurityOpt([]string{"label=type:svirt_apache_t"}); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "SELinux") {
		t.Errorf("label=type: %v", err)
	}
}
