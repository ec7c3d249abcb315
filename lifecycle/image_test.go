package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// An overlay of 200 layers with long paths mounts (their plain lowerdir
// list is several pages); the lowest and the highest layer are seen, the
// higher of two layers wins, and the unmount leaves no mount.
func TestMountRootfsManyLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	root := t.TempDir()
	const n = 200
	var layers []string
	for i := range n {
		dir := filepath.Join(root, "layers", fmt.Sprintf("%064d", i), "diff")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{fmt.Sprintf("f%d", i): "x", "shared": fmt.Sprint(i)} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		layers = append(layers, dir)
	}
	if plain := len(strings.Join(layers, ":")); plain < 3*os.Getpagesize() {
		t.Fatalf("the test's lowerdir list is %d bytes, meant to pass a page by far", plain)
	}
	dir := filepath.Join(root, "c")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := mountRootfs(dir, layers); err != nil {
		if strings.Contains(err.Error(), "no such device") {
			t.Skip("no overlay here:", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountRootfs(dir) })
	if err := mountRootfs(dir, layers); err != nil {
		t.Fatalf("second mount of a mounted root: %v", err)
	}
	rootfs := rootfsDir(dir)
	for _, f := range []string{"f0", fmt.Sprintf("f%d", n-1)} {
		if _, err := os.Stat(filepath.Join(rootfs, f)); err != nil {
			t.Errorf("file of a layer: %v", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "shared")); err != nil || string(b) != fmt.Sprint(n-1) {
		t.Errorf("shared file: %q, %v; want the top layer's", b, err)
	}
	if err := unmountRootfs(dir); err != nil {
		t.Fatal(err)
	}
	if ok, err := mountinfo.Mounted(rootfs); err != nil || ok {
		t.Fatalf("still mounted after unmount: %v %v", ok, err)
	}
	if err := unmountRootfs(dir); err != nil {
		t.Fatalf("unmount of what is not mounted: %v", err)
	}
}
