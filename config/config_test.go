package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestDefaultsWithoutFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(filepath.Join(dir, "absent.toml"), filepath.Join(dir, "absent.d"))
	if err != nil {
		t.Fatal(err)
	}
	if s.DataRoot != "/var/lib/berth" || s.ExecRoot != "/run/berth" || time.Duration(s.IdleTimeout) != time.Minute {
		t.Fatalf("defaults: %+v", s.Config)
	}
	if !strings.HasPrefix(s.Digest, "sha256:") || len(s.Digest) != 71 {
		t.Fatalf("digest %q", s.Digest)
	}
}

func TestDropInsOverrideInLexicalOrder(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "berth.toml")
	d := filepath.Join(dir, "berth.toml.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(main, "idle-timeout = \"5s\"\nlog-level = \"debug\"\n")
	write(filepath.Join(d, "20-b.toml"), "idle-timeout = \"30s\"\n")
	write(filepath.Join(d, "10-a.toml"), "idle-timeout = \"10s\"\n")
	s, err := Load(main, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(s.IdleTimeout); got != 30*time.Second {
		t.Fatalf("idle-timeout %v, want 30s from the last drop-in", got)
	}
	if s.LogLevel != "debug" {
		t.Fatalf("log-level %q, want debug from the main file", s.LogLevel)
	}
}

func TestErrorsNameFileLineAndReason(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", "idle-timeout = \"5s\"\nbogus = 1\n", `x.toml:2: unknown key "bogus"`},
		{"bad toml", "idle-timeout = \n", "x.toml:1:"},
		{"bad duration", "\nidle-timeout = \"soon\"\n", "x.toml:2:"},
		{"relative root", "data-root = \"var/lib\"\n", `data-root "var/lib" is not an absolute path`},
		{"missing runtime", "[runtimes.foo]\npath = \"/nonexistent/foo\"\n", `runtimes.foo: path "/nonexistent/foo": not an executable`},
		{"bad runtime name", "[runtimes.\"-x\"]\npath = \"/bin/true\"\n", `runtime name "-x"`},
		{"unknown default runtime", "default-runtime = \"nope\"\n", `default-runtime "nope": no such runtime`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to contain %q", err, tc.want)
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("want invalid argument class, got %v", err)
			}
		})
	}
}

func TestRuntimeResolution(t *testing.T) {
	s, err := Parse("x.toml", []byte("default-runtime = \"t\"\n[runtimes.t]\npath = \"/bin/true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	name, p, err := s.RuntimePath("")
	if err != nil || name != "t" || p != "/bin/true" {
		t.Fatalf("default runtime: %q %q %v", name, p, err)
	}
	if _, _, err := s.RuntimePath("gone"); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), `runtime "gone"`) {
		t.Fatalf("unknown runtime: %v", err)
	}
}
