package lifecycle

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	containertypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

func TestDropOwn(t *testing.T) {
	ch := func(k containertypes.ChangeType, p string) containertypes.FilesystemChange {
		return containertypes.FilesystemChange{Kind: k, Path: p}
	}
	in := []containertypes.FilesystemChange{
		ch(containertypes.ChangeModify, "/etc"),
		ch(containertypes.ChangeAdd, "/etc/hostname"),
		ch(containertypes.ChangeAdd, "/proc"),
		ch(containertypes.ChangeModify, "/srv"),
		ch(containertypes.ChangeAdd, "/srv/data"), // a volume's target
		ch(containertypes.ChangeAdd, "/srv/data/x"),
		ch(containertypes.ChangeModify, "/tmp"),
		ch(containertypes.ChangeAdd, "/tmp/new"),
		ch(containertypes.ChangeDelete, "/bin/vi"),
		ch(containertypes.ChangeModify, "/bin"),
		ch(containertypes.ChangeModify, "/sbin"),
		ch(containertypes.ChangeAdd, "/sbin/docker-init"),
		ch(containertypes.ChangeAdd, "/sbin/mine"),
		ch(containertypes.ChangeAdd, "/mnt"), // made by runc for /mnt/vol
		ch(containertypes.ChangeAdd, "/mnt/vol"),
	}
	own := ownPaths(Spec{Init: true, MountPoints: []MountPoint{{Destination: "/srv/data/"}, {Destination: "/mnt/vol"}}})
	got := dropOwn(in, own)
	want := []containertypes.FilesystemChange{
		ch(containertypes.ChangeModify, "/bin"),
		ch(containertypes.ChangeDelete, "/bin/vi"),
		ch(containertypes.ChangeModify, "/sbin"),
		ch(containertypes.ChangeAdd, "/sbin/mine"),
		ch(containertypes.ChangeModify, "/tmp"),
		ch(containertypes.ChangeAdd, "/tmp/new"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got := dropOwn(nil, own); got == nil || len(got) != 0 {
		t.Errorf("no changes: %#v, want an empty list", got)
	}
}

// TestLayerChanges reads an overlay upper directory as the kernel leaves
// it: whiteout devices and an opaque directory (root only: mknod and
// trusted.* attributes).
func TestLayerChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for whiteout devices and trusted.* attributes")
	}
	base, upper := t.TempDir(), t.TempDir()
	for _, d := range []string{"bin", "etc", "var/cache", "usr"} {
		must(t, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
	for _, f := range []string{"bin/sh", "bin/vi", "etc/passwd", "var/cache/a", "var/cache/b", "usr/kept"} {
		must(t, os.WriteFile(filepath.Join(base, f), []byte("base"), 0o644))
	}
	for _, d := range []string{"bin", "etc", "var/cache", "srv"} {
		must(t, os.MkdirAll(filepath.Join(upper, d), 0o700))
	}
	must(t, unix.Mknod(filepath.Join(upper, "bin/vi"), unix.S_IFCHR, 0)) // rm /bin/vi
	must(t, os.WriteFile(filepath.Join(upper, "etc/passwd"), []byte("changed"), 0o644))
	must(t, os.WriteFile(filepath.Join(upper, "srv/new"), []byte("new"), 0o644))
	// rm -rf /var/cache; mkdir /var/cache; echo > /var/cache/b
	must(t, unix.Setxattr(filepath.Join(upper, "var/cache"), "trusted.overlay.opaque", []byte("y"), 0))
	must(t, os.WriteFile(filepath.Join(upper, "var/cache/b"), []byte("again"), 0o644))

	got, err := layerChanges(t.Context(), base, upper)
	if err != nil {
		t.Fatal(err)
	}
	got = dropOwn(got, nil)
	want := []containertypes.FilesystemChange{
		{Kind: containertypes.ChangeModify, Path: "/bin"},
		{Kind: containertypes.ChangeDelete, Path: "/bin/vi"},
		{Kind: containertypes.ChangeModify, Path: "/etc"},
		{Kind: containertypes.ChangeModify, Path: "/etc/passwd"},
		{Kind: containertypes.ChangeAdd, Path: "/srv"},
		{Kind: containertypes.ChangeAdd, Path: "/srv/new"},
		{Kind: containertypes.ChangeModify, Path: "/var"},
		{Kind: containertypes.ChangeModify, Path: "/var/cache"},
		{Kind: containertypes.ChangeDelete, Path: "/var/cache/a"},
		{Kind: containertypes.ChangeModify, Path: "/var/cache/b"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
