package lifecycle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
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
	for _, tc := range []struct {
		path, name, link string
		dir              bool
	}{
		{"/file-link", "file-link", "/etc/marker", false},
		{"/evil/", "evil", "", true},
		{"/evil", "evil", "/etc", false},
		{"/d/up/etc/marker", "marker", "", false},
		{"/", "/", "", true},
	} {
		st, parent, _, err := v.stat(tc.path)
		if err != nil || st.Name != tc.name || st.LinkTarget != tc.link || st.Mode.IsDir() != tc.dir {
			t.Fatalf("stat %s: %+v, %v", tc.path, st, err)
		}
		parent.Close()
	}
	// The handles the copy works through are inside the root too.
	for _, p := range []string{"/evil", "/evil2/", "/d/up/etc", "/../etc"} {
		f, err := v.openIn(p, p)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		got, err := os.Readlink(fdPath(f))
		f.Close()
		if err != nil || got != filepath.Join(root, "etc") {
			t.Fatalf("open %s: %s, %v; want the container's /etc", p, got, err)
		}
	}
	for _, p := range []string{"/nope/x", "/etc/marker/x"} {
		if _, _, _, err := v.stat(p); !errdefs.IsNotFound(err) || err.Error() != "Could not find the file "+p+" in container c: not found" {
			t.Fatalf("stat of a missing path: %v", err)
		}
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

// tarOf reads a tar stream into name → body ("/" for directories,
// "-> target" for links) and name → uid:gid.
func tarOf(t *testing.T, r io.Reader) (map[string]string, map[string]string) {
	t.Helper()
	bodies, owners := map[string]string{}, map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return bodies, owners
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			bodies[h.Name] = "/"
		case tar.TypeSymlink:
			bodies[h.Name] = "-> " + h.Linkname
		default:
			b, _ := io.ReadAll(tr)
			bodies[h.Name] = string(b)
		}
		owners[h.Name] = fmt.Sprintf("%d:%d", h.Uid, h.Gid)
	}
}

func mkTar(t *testing.T, entries ...tar.Header) io.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		body := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
			body = h.Name
		} else if h.Typeflag != tar.TypeSymlink && h.Typeflag != tar.TypeLink {
			body = ""
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	return &b
}

// get and put work inside the container's root: through links that lead
// out of it (to the host's /etc, were they followed on the host), with
// docker's names and owners, and refuse entries that leave the target.
func TestViewGetPut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("owners need root")
	}
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc", "marker"), []byte("container"), 0o644))
	must(os.Lchown(filepath.Join(root, "etc", "marker"), 555, 556))
	must(os.Symlink("/etc", filepath.Join(root, "evil")))
	must(os.Symlink("../../../etc", filepath.Join(root, "evil2")))
	v := &view{name: "c", root: root, live: true}

	for path, want := range map[string]map[string]string{
		"/evil/marker": {"marker": "container"},
		"/evil/":       {"evil/": "/", "evil/marker": "container", "evil/sub/": "/"},
		"/evil2/.":     {"./": "/", "./marker": "container", "./sub/": "/"},
		"/evil":        {"evil": "-> /etc"},
	} {
		rc, st, err := v.get(path)
		if err != nil {
			t.Fatalf("get %s: %v", path, err)
		}
		got, owners := tarOf(t, rc)
		rc.Close()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("get %s: %v, want %v (stat %+v)", path, got, want, st)
		}
		for name, o := range owners {
			if strings.HasSuffix(name, "marker") && o != "555:556" {
				t.Errorf("get %s: %s owned by %s, want the container's 555:556", path, name, o)
			}
		}
	}
	if _, _, err := v.get("/nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("get of a missing path: %v", err)
	}

	// Into the container's /etc through both links; owners root unless kept.
	must(v.put("/evil", mkTar(t, tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1234, Gid: 1234}), PutOptions{}))
	must(v.put("/evil2/sub", mkTar(t, tar.Header{Name: "b", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1234, Gid: 1234}), PutOptions{CopyUIDGID: true}))
	for p, want := range map[string]uint32{"etc/a": 0, "etc/sub/b": 1234} {
		var st unix.Stat_t
		must(unix.Lstat(filepath.Join(root, p), &st))
		if st.Uid != want || st.Gid != want {
			t.Errorf("%s owned by %d:%d, want %d", p, st.Uid, st.Gid, want)
		}
	}
	// An entry through a link in the archive itself stays inside too.
	must(v.put("/", mkTar(t, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, tar.Header{Name: "l/c", Typeflag: tar.TypeReg, Mode: 0o644}), PutOptions{}))
	if b, err := os.ReadFile(filepath.Join(root, "etc", "c")); err != nil || string(b) != "l/c" {
		t.Fatalf("entry through a link of the archive: %q %v", b, err)
	}
	for _, h := range []tar.Header{
		{Name: "../../x", Typeflag: tar.TypeReg},
		{Name: "/x", Typeflag: tar.TypeReg},
		{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../../etc/shadow"},
		{Name: "null", Typeflag: tar.TypeChar},
	} {
		err := v.put("/etc", mkTar(t, h), PutOptions{})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), fmt.Sprintf("entry %q", h.Name)) {
			t.Errorf("entry %q: %v, want it refused by name", h.Name, err)
		}
	}
	if err := v.put("/etc/marker", mkTar(t), PutOptions{}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("put into a file: %v", err)
	}
	if err := v.put("/etc", mkTar(t, tar.Header{Name: "sub", Typeflag: tar.TypeReg}), PutOptions{NoOverwriteDirNonDir: true}); err == nil {
		t.Fatal("a file replaced a directory")
	}
	ro := &view{name: "c", root: root, live: true, readonly: true, mounts: []MountPoint{{Destination: "/etc/sub", RW: true}, {Destination: "/evil", RW: false}}}
	if err := ro.put("/etc", mkTar(t), PutOptions{}); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("put into a read-only root file system: %v", err)
	}
	must(ro.put("/etc/sub", mkTar(t), PutOptions{}))
}
