package lifecycle

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRewriteInPlace: the file keeps its inode (a bind mount of it sees
// the new contents) and has exactly the new contents.
func TestRewriteInPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 8.8.8.8\nnameserver 8.8.4.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ino := func() uint64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	before := ino()
	if err := rewriteInPlace(p, []byte("nameserver 10.0.0.1\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "nameserver 10.0.0.1\n" || ino() != before {
		t.Fatalf("contents %q, inode %d (was %d)", b, ino(), before)
	}
	if err := rewriteInPlace(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("a missing file was created")
	}
}
