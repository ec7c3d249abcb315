package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthd/berth/config"
)

func snapWithRoots(t *testing.T, data, exec string) *config.Snapshot {
	t.Helper()
	s, err := config.Parse("berth.toml", []byte(fmt.Sprintf("data-root = %q\nexec-root = %q\ndefault-runtime = \"t\"\n[runtimes.t]\npath = \"/bin/true\"\n", data, exec)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckRoots(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state", "roots.json")
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	if err := checkRoots(file, snapWithRoots(t, a, "/run/x")); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := checkRoots(file, snapWithRoots(t, a, "/run/x")); err != nil {
		t.Fatalf("same roots: %v", err)
	}
	// No containers under a: moving is allowed and recorded.
	if err := checkRoots(file, snapWithRoots(t, b, "/run/x")); err != nil {
		t.Fatalf("move with no containers: %v", err)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), b) {
		t.Fatalf("record not updated: %s", data)
	}
	os.MkdirAll(filepath.Join(b, "containers", "0123"), 0o700)
	err := checkRoots(file, snapWithRoots(t, c, "/run/x"))
	if err == nil || !strings.Contains(err.Error(), "berth.toml:1: data-root is") || !strings.Contains(err.Error(), "1 container(s) exist") {
		t.Fatalf("data-root move with a container: %v", err)
	}
	err = checkRoots(file, snapWithRoots(t, b, "/run/y"))
	if err == nil || !strings.Contains(err.Error(), "berth.toml:2: exec-root is") {
		t.Fatalf("exec-root move with a container: %v", err)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), b) || !strings.Contains(string(data), "/run/x") {
		t.Fatalf("a refused start changed the record: %s", data)
	}
}
