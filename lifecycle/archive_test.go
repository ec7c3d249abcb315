package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

// A container's paths resolve inside its root: absolute links, relative
// links with too many "..", links in the middle of a path.
func TestViewResolveStaysInside(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "d"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "marker"), []byte("container"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"evil": "/etc", "evil2": "../../../../../etc", "d/up": "../../..", "file-link": "/etc/marker"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	v := &view{name: "c", root: root, live: true}
	for _, tc := range []struct {
		path   string
		follow bool
		want   string
	}{
		{"/evil/marker", false, "etc/marker"},
		{"evil2/marker", false, "etc/marker"},
		{"/d/up/etc/marker", false, "etc/marker"},
		{"/evil", true, "etc"},
		{"/evil", false, "evil"},
		{"/../../etc/marker", false, "etc/marker"},
		{"/file-link", true, "etc/marker"},
	} {
		got, err := v.resolve(absPath(tc.path), tc.follow)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if want := filepath.Join(root, tc.want); filepath.Clean(got) != want {
			t.Errorf("resolve(%q, %v) = %s, want %s", tc.path, tc.follow, got, want)
		}
	}
	st, _, err := v.stat("/file-link")
	if err != nil || st.Name != "file-link" || st.LinkTarget != "/etc/marker" {
		t.Fatalf("stat of a link: %+v, %v", st, err)
	}
	st, _, err = v.stat("/evil/")
	if err != nil || !st.Mode.IsDir() || st.Name != "evil" {
		t.Fatalf("stat of a link with a trailing /: %+v, %v", st, err)
	}
	if _, _, err := v.stat("/nope/x"); !errdefs.IsNotFound(err) || err.Error() != "Could not find the file /nope/x in container c: not found" {
		t.Fatalf("stat of a missing path: %v", err)
	}
}

// A stopped container's mounts do not exist: a path on one is refused.
func TestViewResolveStoppedMount(t *testing.T) {
	root := t.TempDir()
	v := &view{name: "c", root: root, mounts: []MountPoint{{Type: "volume", Destination: "/data", RW: true}}}
	if _, err := v.resolve("/data/x", false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("path on a mount of a stopped container: %v", err)
	}
	if _, err := v.resolve("/database", false); err != nil {
		t.Fatalf("a path beside the mount: %v", err)
	}
}

func TestMountAt(t *testing.T) {
	mps := []MountPoint{{Destination: "/data"}, {Destination: "/data/sub/"}, {Destination: "/run"}}
	for p, want := range map[string]string{"/data": "/data", "/data/x": "/data", "/data/sub/y": "/data/sub/", "/datax": "", "/": "", "/run/a": "/run"} {
		got := ""
		if mp := mountAt(mps, p); mp != nil {
			got = mp.Destination
		}
		if got != want {
			t.Errorf("mountAt(%q) = %q, want %q", p, got, want)
		}
	}
}
