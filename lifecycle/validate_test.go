package lifecycle

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthd/berth/ocispec"
	"github.com/containerd/errdefs"
)

func TestCheckSpec(t *testing.T) {
	ok := func() Spec { return Spec{Rootfs: "/srv/rootfs", Cmd: []string{"sh"}} }
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string // "" means valid; else a word the message must contain
	}{
		{"plain", func(s *Spec) {}, ""},
		{"env ok", func(s *Spec) { s.Env = []string{"A=1", "B=", "C==x"} }, ""},
		{"env without = (unsets)", func(s *Spec) { s.Env = []string{"NOEQUALS"} }, ""},
		{"env without a name", func(s *Spec) { s.Env = []string{"=x"} }, "the variable name is empty"},
		{"env empty name", func(s *Spec) { s.Env = []string{"=foo"} }, `env entry "=foo"`},
		{"env too long", func(s *Spec) { s.Env = []string{"A=" + strings.Repeat("x", MaxArgLen)} }, "env entry"},
		{"env too much", func(s *Spec) {
			for range 10 {
				s.Env = append(s.Env, "A="+strings.Repeat("x", MaxArgLen-10))
			}
		}, "cmd and env"},
		{"cmd empty program", func(s *Spec) { s.Cmd = []string{""} }, "cmd: the program name is empty"},
		{"cmd empty argument", func(s *Spec) { s.Cmd = []string{"echo", ""} }, ""},
		{"entrypoint empty program", func(s *Spec) { s.Entrypoint = []string{"", "x"} }, "entrypoint"},
		{"entrypoint reset", func(s *Spec) { s.Entrypoint = []string{""} }, ""},
		{"cmd empty after entrypoint", func(s *Spec) { s.Entrypoint = []string{"echo"}; s.Cmd = []string{""} }, ""},
		{"cmd argument too long", func(s *Spec) { s.Cmd = []string{"echo", strings.Repeat("x", MaxArgLen+1)} }, "cmd argument"},
		{"labels ok", func(s *Spec) { s.Labels = map[string]string{"com.example.role": "web", "empty": ""} }, ""},
		{"label empty key", func(s *Spec) { s.Labels = map[string]string{"": "v"} }, "the key is empty"},
		{"label key 1 MB", func(s *Spec) { s.Labels = map[string]string{strings.Repeat("k", 1<<20): "v"} }, "label key"},
		{"label value 1 MB", func(s *Spec) { s.Labels = map[string]string{"k": strings.Repeat("v", 1<<20)} }, "labels:"},
		{"100000 labels", func(s *Spec) {
			s.Labels = map[string]string{}
			for i := range 100000 {
				s.Labels[fmt.Sprint("k", i)] = "v"
			}
		}, "labels:"},
		{"workdir relative", func(s *Spec) { s.Workdir = "tmp" }, "workdir"},
		{"workdir too long", func(s *Spec) { s.Workdir = "/" + strings.Repeat("a", MaxPathLen) }, "workdir"},
		{"user too long", func(s *Spec) { s.User = strings.Repeat("u", MaxUserLen+1) }, "user"},
		{"hostname ok", func(s *Spec) { s.Hostname = "web-1.example.com" }, ""},
		{"hostname 1 MB", func(s *Spec) { s.Hostname = strings.Repeat("h", 1<<20) }, "hostname"},
		{"hostname 65", func(s *Spec) { s.Hostname = strings.Repeat("h", 65) }, "hostname"},
		{"hostname underscore", func(s *Spec) { s.Hostname = "a_b" }, "hostname"},
		{"hostname leading hyphen", func(s *Spec) { s.Hostname = "-a" }, "hostname"},
		{"hostname space", func(s *Spec) { s.Hostname = "a b" }, "hostname"},
		{"stop signal RTMIN+3", func(s *Spec) { s.StopSignal = "SIGRTMIN+3" }, ""},
		{"stop signal bad", func(s *Spec) { s.StopSignal = "SIGNOPE" }, "stop signal"},
		{"stop timeout negative", func(s *Spec) { s.StopTimeout = ptr(-1) }, "stop timeout"},
		{"stop timeout huge", func(s *Spec) { s.StopTimeout = ptr(math.MaxInt64) }, "stop timeout"},
		{"stop timeout max", func(s *Spec) { s.StopTimeout = ptr(MaxStopTimeout) }, ""},
		{"memory too small", func(s *Spec) { s.Memory = 1 << 20 }, "memory"},
		{"memory ok", func(s *Spec) { s.Memory = 64 << 20 }, ""},
		{"nano cpus too small", func(s *Spec) { s.NanoCPUs = 1 }, "nano_cpus"},
		{"rootfs too long", func(s *Spec) { s.Rootfs = "/" + strings.Repeat("r", MaxPathLen) }, "rootfs"},
		{"image too long", func(s *Spec) { s.Rootfs = ""; s.Image = strings.Repeat("i", MaxPathLen+1) }, "image"},
		{"label empty name", func(s *Spec) { s.Labels = map[string]string{"": "x"} }, "label"},
		{"labels", func(s *Spec) { s.Labels = map[string]string{"a": "", "b.c": "d=e"} }, ""},
		{"add-host", func(s *Spec) { s.ExtraHosts = []string{"db:10.0.0.2", "v6=[::1]", "x:fe80::1"} }, ""},
		{"add-host no ip", func(s *Spec) { s.ExtraHosts = []string{"db"} }, "add-host"},
		{"add-host bad ip", func(s *Spec) { s.ExtraHosts = []string{"db:10.0.0.300"} }, "add-host"},
		{"add-host gateway", func(s *Spec) { s.ExtraHosts = []string{"db:host-gateway"} }, ""},
		{"dns", func(s *Spec) { s.DNS = []string{"1.1.1.1", "2606:4700::1111"} }, ""},
		{"dns not an address", func(s *Spec) { s.DNS = []string{"dns.example"} }, "dns"},
		{"dns-search", func(s *Spec) { s.DNSSearch = []string{"example.com", ".", "corp."} }, ""},
		{"dns-search bad", func(s *Spec) { s.DNSSearch = []string{"a b"} }, "dns-search"},
		{"dns-option space", func(s *Spec) { s.DNSOptions = []string{"ndots:2 x"} }, "dns-option"},
		{"cap-add unknown", func(s *Spec) { s.CapAdd = []string{"NOPE"} }, `cap-add "NOPE": unknown capability`},
		{"cap-drop unknown", func(s *Spec) { s.CapDrop = []string{"cap_nope"} }, "cap-drop"},
		{"cap-drop all", func(s *Spec) { s.CapDrop = []string{"all"} }, ""},
		{"device not a device", func(s *Spec) {
			s.Devices = []ocispec.Device{{PathOnHost: "/proc/self/status", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}
		}, "not a device node"},
		{"device missing", func(s *Spec) {
			s.Devices = []ocispec.Device{{PathOnHost: "/dev/nonexistent", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}
		}, "no such file"},
		{"device bad permissions", func(s *Spec) {
			s.Devices = []ocispec.Device{{PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwx"}}
		}, "permissions"},
		{"device relative container path", func(s *Spec) {
			s.Devices = []ocispec.Device{{PathOnHost: "/dev/null", PathInContainer: "x", CgroupPermissions: "r"}}
		}, "not absolute"},
		{"device", func(s *Spec) {
			s.Devices = []ocispec.Device{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw"}}
		}, ""},
		{"ulimit soft above hard", func(s *Spec) { s.Ulimits = []ocispec.Ulimit{{Name: "nofile", Soft: 20, Hard: 10}} }, "ulimit"},
		{"ulimit unknown", func(s *Spec) { s.Ulimits = []ocispec.Ulimit{{Name: "nope", Soft: 1, Hard: 1}} }, "ulimit"},
		{"ulimit", func(s *Spec) { s.Ulimits = []ocispec.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}} }, ""},
		{"sysctl not namespaced", func(s *Spec) { s.Sysctls = map[string]string{"kernel.panic": "1"} }, `sysctl "kernel.panic": not a namespaced sysctl`},
		{"sysctl net with host network", func(s *Spec) { s.Network = "host"; s.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"} }, "--network host"},
		{"sysctl ipc with host ipc", func(s *Spec) { s.IpcMode = "host"; s.Sysctls = map[string]string{"kernel.shmmax": "1"} }, "--ipc host"},
		{"sysctl path", func(s *Spec) { s.Sysctls = map[string]string{"net.x/../../y": "1"} }, "not a sysctl name"},
		{"sysctls", func(s *Spec) {
			s.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "9"}
		}, ""},
		{"security-opt unknown", func(s *Spec) { s.SecurityOpt = []string{"systempaths=unconfined"} }, "security-opt"},
		{"security-opt no-new-privileges bad", func(s *Spec) { s.SecurityOpt = []string{"no-new-privileges=maybe"} }, "security-opt"},
		{"security-opt seccomp bad", func(s *Spec) { s.SecurityOpt = []string{"seccomp={not json"} }, "seccomp"},
		{"security-opt seccomp unknown action", func(s *Spec) {
			s.SecurityOpt = []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"BOGUS"}]}`}
		}, `unknown action "BOGUS"`},
		{"security-opt", func(s *Spec) {
			s.SecurityOpt = []string{"no-new-privileges", "seccomp=unconfined", "no-new-privileges:false"}
		}, ""},
		{"pid bad", func(s *Spec) { s.PidMode = "container:" }, "pid"},
		{"ipc bad", func(s *Spec) { s.IpcMode = "vm" }, "ipc"},
		{"ipc shareable", func(s *Spec) { s.IpcMode = "shareable" }, ""},
		{"oom-score-adj out of range", func(s *Spec) { s.OomScoreAdj = 1001 }, "oom-score-adj"},
		{"oom-score-adj", func(s *Spec) { s.OomScoreAdj = 500 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok()
			tc.edit(&s)
			err := checkSpec(&s)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want an invalid argument naming %s", err, tc.field)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("message of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestExecOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     ExecOptions
		field string
	}{
		{"plain", ExecOptions{Cmd: []string{"true"}, Env: []string{"A=1"}, Workdir: "/tmp", User: "1000"}, ""},
		{"no command", ExecOptions{}, "no command"},
		{"empty program", ExecOptions{Cmd: []string{""}}, "cmd"},
		{"env without = (unsets)", ExecOptions{Cmd: []string{"true"}, Env: []string{"CLIENTVAR"}}, ""},
		{"env empty name", ExecOptions{Cmd: []string{"true"}, Env: []string{"=x"}}, `env entry "=x"`},
		{"workdir relative", ExecOptions{Cmd: []string{"true"}, Workdir: "x"}, "workdir"},
		{"user too long", ExecOptions{Cmd: []string{"true"}, User: strings.Repeat("u", 300)}, "user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want an invalid argument naming %s", err, tc.field)
			}
		})
	}
}

func TestCPUsToNano(t *testing.T) {
	for _, tc := range []struct {
		cpus float64
		want uint64 // 0: refused
	}{
		{1, 1e9}, {0.5, 5e8}, {0.01, 1e7}, {4, 4e9}, {1.000000001, 1000000001},
		{math.NaN(), 0}, {math.Inf(1), 0}, {math.Inf(-1), 0}, {1e300, 0}, {1e-12, 0}, {0, 0}, {-1, 0}, {0.009, 0}, {5, 0},
	} {
		got, err := CPUsToNano(tc.cpus, 4)
		if tc.want == 0 {
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "cpus") {
				t.Errorf("%v: got %d, %v; want a refusal naming cpus", tc.cpus, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: got %d, %v; want %d", tc.cpus, got, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	if err := CheckName(strings.Repeat("n", MaxNameLen)); err != nil {
		t.Fatal(err)
	}
	err := CheckName(strings.Repeat("n", 1<<20))
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "container name") || len(err.Error()) > 200 {
		t.Fatalf("1 MB name: %v", err)
	}
}

func TestCheckRootfsDir(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "var", "lib", "berth")
	run := filepath.Join(tmp, "run", "berth")
	srv := filepath.Join(tmp, "srv", "rootfs")
	for _, d := range []string{data, run, srv} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(tmp, "toroot")
	if err := os.Symlink("/", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rootfs, want string // want "" means accepted
	}{
		{"/", "the host's root file system"},
		{"/.", "the host's root file system"},
		{link, "the host's root file system"},
		{filepath.Join(tmp, "var"), "holds berth's own state directory " + data},
		{data, "holds berth's own state directory " + data},
		{filepath.Join(tmp, "run") + "/", "holds berth's own state directory " + run},
		{tmp, "holds berth's own state directory"},
		{srv, ""},
		{filepath.Join(tmp, "var", "lib", "berthx"), ""},
		{filepath.Join(data, "containers", "x", "rootfs"), ""},
	} {
		err := checkRootfsDir(tc.rootfs, data, run)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.rootfs, err)
			}
			continue
		}
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "rootfs ") {
			t.Errorf("%s: got %v, want %q", tc.rootfs, err, tc.want)
		}
	}
}
