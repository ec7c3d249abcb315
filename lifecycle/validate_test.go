package lifecycle

import (
	"math"
	"strings"
	"testing"

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
		{"env without =", func(s *Spec) { s.Env = []string{"NOEQUALS"} }, `env entry "NOEQUALS"`},
		{"env empty name", func(s *Spec) { s.Env = []string{"=foo"} }, `env entry "=foo"`},
		{"env too long", func(s *Spec) { s.Env = []string{"A=" + strings.Repeat("x", MaxArgLen)} }, "env entry"},
		{"env too much", func(s *Spec) {
			for range 10 {
				s.Env = append(s.Env, "A="+strings.Repeat("x", MaxArgLen-10))
			}
		}, "cmd and env"},
		{"cmd empty program", func(s *Spec) { s.Cmd = []string{""} }, "cmd: the program name is empty"},
		{"cmd empty argument", func(s *Spec) { s.Cmd = []string{"echo", ""} }, ""},
		{"entrypoint empty", func(s *Spec) { s.Entrypoint = []string{""} }, "entrypoint"},
		{"cmd empty after entrypoint", func(s *Spec) { s.Entrypoint = []string{"echo"}; s.Cmd = []string{""} }, ""},
		{"cmd argument too long", func(s *Spec) { s.Cmd = []string{"echo", strings.Repeat("x", MaxArgLen+1)} }, "cmd argument"},
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
		{"env without =", ExecOptions{Cmd: []string{"true"}, Env: []string{"CLIENTVAR"}}, `env entry "CLIENTVAR"`},
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
