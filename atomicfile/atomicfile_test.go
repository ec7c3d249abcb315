package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, v := range []map[string]int{{"a": 1}, {"a": 2}} {
		if err := WriteJSON(p, v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "{\n  \"a\": 2\n}\n" {
		t.Fatalf("content %q %v", b, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestMissingDirectoryIsAnError(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "gone", "x"), []byte("x"), 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// A writer killed between create and rename leaves ".NAME.tmpDIGITS";
// RemoveTemps removes exactly those.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"a.json", ".hidden", "b.tmp1", ".c.json.tmp", ".d.json.tmpx1"}
	gone := []string{".a.json.tmp123", ".x.tmp9"}
	for _, n := range append(append([]string{}, keep...), gone...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".sub.tmp1"), 0o700); err != nil {
		t.Fatal(err)
	}
	n, err := RemoveTemps(dir)
	if err != nil || n != len(gone) {
		t.Fatalf("removed %d (%v), want %d", n, err, len(gone))
	}
	for _, k := range append(keep, ".sub.tmp1") {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("%s removed: %v", k, err)
		}
	}
	for _, g := range gone {
		if _, err := os.Stat(filepath.Join(dir, g)); !os.IsNotExist(err) {
			t.Errorf("%s left", g)
		}
	}
	if n, err := RemoveTemps(filepath.Join(dir, "absent")); n != 0 || err != nil {
		t.Fatalf("absent dir: %d %v", n, err)
	}
	// What Write makes is what RemoveTemps takes.
	f, err := os.CreateTemp(dir, ".e.json"+tempInfix+"*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !IsTemp(filepath.Base(f.Name())) {
		t.Fatalf("%s not recognised", f.Name())
	}
}
