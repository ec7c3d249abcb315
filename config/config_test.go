package config

import (
	"os"
	"path/filepath"
	"regexp"
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
		{"relative root", "\ndata-root = \"var/lib\"\n", `x.toml:2: data-root "var/lib" is not an absolute path`},
		{"missing runtime", "[runtimes.foo]\n\npath = \"/nonexistent/foo\"\n", `x.toml:3: runtimes.foo: path "/nonexistent/foo": not an executable`},
		{"bad runtime name", "[runtimes.\"-x\"]\npath = \"/bin/true\"\n", `x.toml:1: runtime name "-x"`},
		{"unknown default runtime", "\n\ndefault-runtime = \"nope\"\n", `x.toml:3: default-runtime "nope": no such runtime`},
		{"unknown runtime key", "[runtimes.foo]\npath = \"/bin/true\"\nargz = []\n", `x.toml:3: unknown key "runtimes.foo.argz"`},
		{"bad network", "default-network = \"bridge0\"\n", `x.toml:1: default-network "bridge0"`},
		{"bad slice", "cgroup-parent = \"a/b.slice\"\n", `x.toml:1: cgroup-parent`},
		{"args wrong type", "[runtimes.foo]\npath = \"/bin/true\"\nargs = \"--debug\"\n", `x.toml:3:`},
		{"inline table", "runtimes = { foo = { path = \"/nonexistent\" } }\n", `x.toml:1: runtimes.foo: path "/nonexistent"`},
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

func TestRuntimeWithArgsGetsWrapper(t *testing.T) {
	s, err := Parse("x.toml", []byte("exec-root = \"/run/b\"\n[runtimes.dbg]\npath = \"/bin/true\"\nargs = [\"--debug\", \"a b\"]\n[runtimes.plain]\npath = \"/bin/true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Runtime("dbg")
	if err != nil {
		t.Fatal(err)
	}
	if r.Wrapper == nil || r.Path != r.Wrapper.Path || !strings.HasPrefix(r.Path, "/run/b/runtimes/dbg-") {
		t.Fatalf("dbg resolved to %+v", r)
	}
	if !strings.Contains(string(r.Wrapper.Contents), `exec '/bin/true' '--debug' 'a b' "$@"`) {
		t.Fatalf("wrapper: %q", r.Wrapper.Contents)
	}
	if _, p, _ := s.RuntimePath("plain"); p != "/bin/true" {
		t.Fatalf("plain runtime path %q, want the binary itself", p)
	}
	if ws := s.Wrappers(); len(ws) != 1 || ws[0].Name != "dbg" {
		t.Fatalf("wrappers %+v", ws)
	}
}

func TestDropInsMergeTablesAndReplaceValues(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "berth.toml")
	d := filepath.Join(dir, "berth.toml.d")
	os.MkdirAll(d, 0o755)
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(main, "[runtimes.a]\npath = \"/bin/true\"\nargs = [\"1\", \"2\"]\n[runtimes.b]\npath = \"/bin/true\"\n")
	write(filepath.Join(d, "10.toml"), "[runtimes.a]\nargs = [\"3\"]\n[runtimes.c]\npath = \"/bin/false\"\n")
	s, err := Load(main, d)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Runtime("a")
	if a.Binary != "/bin/true" || strings.Join(a.Args, ",") != "3" {
		t.Fatalf("runtimes.a = %+v: want path from the main file and args replaced by the drop-in", a)
	}
	if got := strings.Join(s.RuntimeNames(), ","); !strings.Contains(got, "a,b,c") {
		t.Fatalf("runtimes %s: want a, b and c merged", got)
	}
	if p := s.Position("runtimes.a.args"); p != filepath.Join(d, "10.toml")+":2" {
		t.Fatalf("position of runtimes.a.args: %q", p)
	}
	if p := s.Position("runtimes.a.path"); p != main+":2" {
		t.Fatalf("position of runtimes.a.path: %q", p)
	}
}

func TestReloadReturnsRemovedKeysToDefaults(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "berth.toml")
	os.WriteFile(main, []byte("idle-timeout = \"5s\"\nlog-level = \"debug\"\n[runtimes.x]\npath = \"/bin/true\"\n"), 0o644)
	first, err := Load(main, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(main, []byte("log-level = \"warn\"\n"), 0o644)
	second, err := Load(main, "")
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(second.IdleTimeout) != time.Minute || second.LogLevel != "warn" {
		t.Fatalf("after removing idle-timeout: %+v", second.Config)
	}
	if _, err := second.Runtime("x"); err == nil {
		t.Fatal("runtime x survived its removal from the file")
	}
	if first.Digest == second.Digest {
		t.Fatal("digest unchanged by a different config")
	}
	if _, err := first.Runtime("x"); err != nil {
		t.Fatal("loading a new snapshot changed the old one")
	}
	again, _ := Load(main, "")
	if again.Digest != second.Digest {
		t.Fatal("digest not stable for the same files")
	}
}

func TestCheckReloadRefusesRoots(t *testing.T) {
	cur, _ := Parse("a.toml", []byte("idle-timeout = \"1s\"\n"))
	ok, _ := Parse("b.toml", []byte("idle-timeout = \"2s\"\n"))
	if err := CheckReload(cur, ok); err != nil {
		t.Fatalf("reloadable change refused: %v", err)
	}
	moved, err := Parse("b.toml", []byte("\ndata-root = \"/srv/berth\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckReload(cur, moved)
	if err == nil || !strings.Contains(err.Error(), "b.toml:2: data-root changed") || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParse: no input panics, and every error names the document and a line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "idle-timeout = \"5s\"\n", "[runtimes.a]\npath = \"/bin/true\"\nargs = [\"x\"]\n",
		"default-runtime = \"a\"\n[runtimes.a]\npath = \"/bin/true\"\n", "bogus = 1", "[runtimes]\nx = { path = 1 }",
		"data-root = \"rel\"", "log-level = \"loud\"", "idle-timeout = \"-1s\"", "runtimes = 5", "[[runtimes]]\n",
		"cgroup-parent = \".slice\"", "[runtimes.\"a/b\"]\npath = \"/bin/true\"",
	} {
		f.Add(seed)
	}
	bin := f.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "runc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Setenv("PATH", bin+":/usr/bin:/bin")
	posRE := regexp.MustCompile(`^doc\.toml:[0-9]+: `)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := Parse("doc.toml", []byte(doc))
		if err != nil {
			if !posRE.MatchString(err.Error()) {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		if s.Digest == "" {
			t.Fatal("snapshot without digest")
		}
	})
}

// TestMain puts a stand-in runc first on PATH, so that the default
// runtime resolves on machines without runc.
func TestMain(m *testing.M) {
	bin, err := os.MkdirTemp("", "berth-config-test")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "runc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		panic(err)
	}
	os.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(bin)
	os.Exit(code)
}

func TestRegistries(t *testing.T) {
	s, err := Parse("x.toml", []byte("[registries.\"127.0.0.1:5000\"]\ninsecure = true\nmirrors = [\"http://10.0.0.1:5000\", \"mirror.example.com\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Registries["127.0.0.1:5000"]
	if !r.Insecure || len(r.Mirrors) != 2 {
		t.Fatalf("%+v", r)
	}
	_, err = Parse("x.toml", []byte("[registries.\"a:5000\"]\n\ninsecur = true\n"))
	if err == nil || !strings.Contains(err.Error(), `x.toml:3: unknown key "registries.a:5000.insecur"`) {
		t.Fatalf("unknown registry key: %v", err)
	}
	_, err = Parse("x.toml", []byte("[registries.\"a/b\"]\ninsecure = true\n"))
	if err == nil || !strings.Contains(err.Error(), "x.toml:1: registries") {
		t.Fatalf("bad host: %v", err)
	}
}
