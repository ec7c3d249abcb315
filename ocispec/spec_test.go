package ocispec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func rootfs(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nwww:x:33:\nextra:x:50:www\n"), 0o644)
	return dir
}

func TestDefaults(t *testing.T) {
	s, err := Generate(Options{Rootfs: rootfs(t), Args: []string{"sh"}, Hostname: "box", CgroupsPath: "/x/container"})
	if err != nil {
		t.Fatal(err)
	}
	var nsTypes []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		nsTypes = append(nsTypes, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.CgroupNamespace, specs.NetworkNamespace} {
		if !slices.Contains(nsTypes, want) {
			t.Errorf("namespace %s missing", want)
		}
	}
	if len(s.Process.Capabilities.Effective) != 14 || slices.Contains(s.Process.Capabilities.Effective, "CAP_SYS_ADMIN") {
		t.Errorf("capabilities %v", s.Process.Capabilities.Effective)
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("seccomp profile missing")
	}
	if r := s.Linux.Resources; r.Memory != nil || r.CPU != nil || r.Pids != nil {
		t.Errorf("resource limits leaked into the spec: %+v", r)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked/readonly paths")
	}
	if !slices.Contains(s.Process.Env, DefaultPath) || !slices.Contains(s.Process.Env, "HOSTNAME=box") {
		t.Errorf("env %v", s.Process.Env)
	}
	if s.Linux.CgroupsPath != "/x/container" {
		t.Errorf("cgroups path %q", s.Linux.CgroupsPath)
	}
}

func TestHostNetworkAndUser(t *testing.T) {
	s, err := Generate(Options{Rootfs: rootfs(t), Args: []string{"id"}, Network: "host", User: "www", NoNewPrivileges: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Fatal("host network still has a network namespace")
		}
	}
	if s.Process.User.UID != 33 || s.Process.User.GID != 33 || !slices.Contains(s.Process.User.AdditionalGids, 50) {
		t.Fatalf("user %+v", s.Process.User)
	}
	if !s.Process.NoNewPrivileges || len(s.Process.Capabilities.Effective) != 0 {
		t.Fatalf("non-root process: nnp %v caps %v", s.Process.NoNewPrivileges, s.Process.Capabilities.Effective)
	}
	if !slices.Contains(s.Process.Env, "HOME=/var/www") {
		t.Fatalf("env %v", s.Process.Env)
	}
}

func TestBadInput(t *testing.T) {
	root := rootfs(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"missing rootfs", Options{Rootfs: "/nonexistent/rootfs", Args: []string{"sh"}}, `root file system "/nonexistent/rootfs": not a directory`},
		{"relative rootfs", Options{Rootfs: "rootfs", Args: []string{"sh"}}, "not an absolute path"},
		{"no command", Options{Rootfs: root}, "no command"},
		{"unknown user", Options{Rootfs: root, Args: []string{"sh"}, User: "nobody"}, `user "nobody"`},
		{"relative cwd", Options{Rootfs: root, Args: []string{"sh"}, Cwd: "tmp"}, `working directory "tmp"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("got %v, want invalid argument containing %q", err, tc.want)
			}
		})
	}
}
