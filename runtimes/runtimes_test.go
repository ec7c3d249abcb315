package runtimes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// With BERTH_TEST_PRINT_ARGS set, the test binary prints its arguments as
// JSON and exits: the stand-in runtime a wrapper execs.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_TEST_PRINT_ARGS") != "" {
		json.NewEncoder(os.Stdout).Encode(os.Args[1:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var hostile = []string{
	"plain", "with space", "it's", `"double"`, "$HOME", "$(touch /tmp/x)", "`id`",
	`back\slash`, "new\nline", "tab\there", "", "*", "--flag=a b", "'", `\'`, "a;b|c&d",
}

func TestWrapperPassesArgumentsVerbatim(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := New(dir, "odd", self, hostile)
	if err := Ensure(w); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(w.Path, "state", "x y")
	cmd.Env = append(os.Environ(), "BERTH_TEST_PRINT_ARGS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run wrapper: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	want := append(append([]string{}, hostile...), "state", "x y")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("argv through the wrapper:\n got %q\nwant %q", got, want)
	}
}

func TestWrapperNameIsDigestOfContents(t *testing.T) {
	dir := t.TempDir()
	w := New(dir, "crun-debug", "/usr/bin/crun", []string{"--debug"})
	if err := Ensure(w); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := filepath.Join(dir, "crun-debug-"+hex.EncodeToString(sum[:])); w.Path != want {
		t.Fatalf("path %s, want %s", w.Path, want)
	}
	if !strings.HasPrefix(string(data), "#!/bin/sh\n") {
		t.Fatalf("no shebang: %q", data)
	}
	if st, _ := os.Stat(w.Path); st.Mode().Perm() != 0o700 { // run by root only
		t.Fatalf("mode %v", st.Mode())
	}
	// Different arguments give a different file; the same ones the same file.
	if New(dir, "crun-debug", "/usr/bin/crun", []string{"--debug", "x"}).Path == w.Path {
		t.Fatal("different args, same wrapper path")
	}
	if New(dir, "crun-debug", "/usr/bin/crun", []string{"--debug"}).Path != w.Path {
		t.Fatal("same args, different wrapper path")
	}
}

func TestEnsureReusesAndRepairs(t *testing.T) {
	dir := t.TempDir()
	w := New(dir, "r", "/bin/true", []string{"a"})
	if err := Ensure(w); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(w.Path)
	if err := Ensure(w); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(w.Path)
	if !os.SameFile(st1, st2) {
		t.Fatal("an intact wrapper was rewritten")
	}
	if err := os.WriteFile(w.Path, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(w); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(w.Path); string(data) != string(w.Contents) {
		t.Fatalf("damaged wrapper not repaired: %q", data)
	}
}

func TestCleanKeepsReferenced(t *testing.T) {
	dir := t.TempDir()
	a := New(dir, "a", "/bin/true", []string{"1"})
	b := New(dir, "b", "/bin/true", []string{"2"})
	for _, w := range []Wrapper{a, b} {
		if err := Ensure(w); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "README")
	os.WriteFile(other, []byte("not a wrapper"), 0o644)
	tmp := filepath.Join(dir, ".b-x.tmp123")
	os.WriteFile(tmp, nil, 0o644)
	removed, err := Clean(dir, map[string]bool{a.Path: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %q, want b's wrapper and the temp file", removed)
	}
	for p, want := range map[string]bool{a.Path: true, b.Path: false, other: true, tmp: false} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Fatalf("%s: exists=%v, want %v", p, err == nil, want)
		}
	}
	if removed, err := Clean(filepath.Join(dir, "absent"), nil); err != nil || removed != nil {
		t.Fatalf("absent dir: %v %v", removed, err)
	}
}
