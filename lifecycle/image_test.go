package lifecycle

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
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

// TestMergeImageConfig: docker's merge of the image's config with what
// the user gave: an entrypoint given drops the image's command, [""]
// drops the image's entrypoint, labels merge with the user's winning.
func TestMergeImageConfig(t *testing.T) {
	img := ocispecs.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"default"},
		Labels: map[string]string{"vendor": "acme", "tier": "image"}}
	for _, tc := range []struct {
		name           string
		spec           Spec
		wantEntrypoint []string
		wantCmd        []string
	}{
		{"nothing given", Spec{}, []string{"/entry"}, []string{"default"}},
		{"cmd given", Spec{Cmd: []string{"mine"}}, []string{"/entry"}, []string{"mine"}},
		{"entrypoint given", Spec{Entrypoint: []string{"/mine"}}, []string{"/mine"}, nil},
		{"entrypoint and cmd given", Spec{Entrypoint: []string{"/mine"}, Cmd: []string{"x"}}, []string{"/mine"}, []string{"x"}},
		{"entrypoint cleared", Spec{Entrypoint: []string{""}, Cmd: []string{"echo"}}, nil, []string{"echo"}},
		{"entrypoint cleared, no cmd", Spec{Entrypoint: []string{""}}, nil, nil},
		{"entrypoint empty list", Spec{Entrypoint: []string{}}, []string{}, []string{"default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Labels = map[string]string{"tier": "mine"}
			mergeImageConfig(&s, img)
			resetEntrypoint(&s)
			if !slices.Equal(s.Entrypoint, tc.wantEntrypoint) || !slices.Equal(s.Cmd, tc.wantCmd) {
				t.Fatalf("entrypoint %q cmd %q, want %q %q", s.Entrypoint, s.Cmd, tc.wantEntrypoint, tc.wantCmd)
			}
			if !maps.Equal(s.Labels, map[string]string{"vendor": "acme", "tier": "mine"}) {
				t.Fatalf("labels %v", s.Labels)
			}
		})
	}
}
