package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berthd/berth/cas"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/images/imagetest"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking whiteouts (mknod, trusted xattrs) needs root")
	}
}

// openStore opens a store in a fresh data-root.
func openStore(t *testing.T, inUse func(digest.Digest) bool) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := Open(root, inUse)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func mkArchive(t *testing.T, format string, img imagetest.Image) *bytes.Reader {
	t.Helper()
	var b bytes.Buffer
	if err := imagetest.Write(&b, format, img); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b.Bytes())
}

var base = imagetest.Tar(
	imagetest.Entry{Name: "bin/", Type: tar.TypeDir},
	imagetest.Entry{Name: "bin/tool", Body: "#!/bin/sh\n", Mode: 0o4755},
	imagetest.Entry{Name: "a/", Type: tar.TypeDir},
	imagetest.Entry{Name: "a/x", Body: "x"},
	imagetest.Entry{Name: "a/y", Body: "y"},
	imagetest.Entry{Name: "d/", Type: tar.TypeDir},
	imagetest.Entry{Name: "d/old", Body: "old"},
	imagetest.Entry{Name: "bin/tool-link", Type: tar.TypeLink, Linkname: "bin/tool", Mode: 0o4755},
	imagetest.Entry{Name: "sh", Type: tar.TypeSymlink, Linkname: "/bin/tool"},
	imagetest.Entry{Name: "owned", Body: "o", UID: 1000, GID: 1001, Xattrs: map[string]string{"user.origin": "layer"}},
)

var top = imagetest.Tar(
	imagetest.Entry{Name: "a/.wh.x"},
	imagetest.Entry{Name: "d/", Type: tar.TypeDir},
	imagetest.Entry{Name: "d/.wh..wh..opq"},
	imagetest.Entry{Name: "d/new", Body: "new"},
)

func TestLoadBothFormatsShareLayers(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s, root := openStore(t, nil)
	cfg := ocispec.ImageConfig{Cmd: []string{"/bin/tool"}, Env: []string{"A=1"}}
	l1, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "one:v1", Config: cfg, Layers: [][]byte{base}}))
	if err != nil {
		t.Fatal(err)
	}
	l2, err := s.Load(ctx, mkArchive(t, "oci", imagetest.Image{Ref: "example.com/two:v2", Config: cfg, Layers: [][]byte{base, top}, Gzip: true}))
	if err != nil {
		t.Fatal(err)
	}
	if len(l1) != 1 || l1[0].Tags[0] != "docker.io/library/one:v1" || len(l2) != 1 || l2[0].Tags[0] != "example.com/two:v2" {
		t.Fatalf("loaded %+v %+v", l1, l2)
	}
	one, err := s.Get("one:v1")
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.Get("example.com/two:v2")
	if err != nil {
		t.Fatal(err)
	}
	if one.ChainIDs[0] != two.ChainIDs[0] {
		t.Fatal("the common base layer has different chain ids")
	}
	ents, _ := os.ReadDir(filepath.Join(root, "layers"))
	if len(ents) != 2 {
		t.Fatalf("want 2 unpacked layers (base shared), found %d", len(ents))
	}
	dirs, err := s.LayerDirs(two)
	if err != nil {
		t.Fatal(err)
	}
	// The base layer keeps modes, setuid and hard links.
	st, err := os.Stat(filepath.Join(dirs[0], "bin/tool"))
	if err != nil || st.Mode()&os.ModeSetuid == 0 {
		t.Fatalf("bin/tool: %v %v", st, err)
	}
	var o unix.Stat_t
	if err := unix.Stat(filepath.Join(dirs[0], "owned"), &o); err != nil || o.Uid != 1000 || o.Gid != 1001 {
		t.Fatalf("ownership not kept: %d:%d %v", o.Uid, o.Gid, err)
	}
	xb := make([]byte, 16)
	n, err := unix.Getxattr(filepath.Join(dirs[0], "owned"), "user.origin", xb)
	switch {
	case err == unix.ENOTSUP:
		t.Log("this file system has no user xattrs: not checked")
	case err != nil || string(xb[:n]) != "layer":
		t.Fatalf("xattr user.origin not kept: %q %v", xb[:max(n, 0)], err)
	}
	var a, b unix.Stat_t
	unix.Stat(filepath.Join(dirs[0], "bin/tool"), &a)
	unix.Stat(filepath.Join(dirs[0], "bin/tool-link"), &b)
	if a.Ino != b.Ino {
		t.Fatal("hard link not kept")
	}
	// The top layer is in overlay form: a whiteout device and an opaque dir.
	var w unix.Stat_t
	if err := unix.Lstat(filepath.Join(dirs[1], "a/x"), &w); err != nil || w.Mode&unix.S_IFMT != unix.S_IFCHR || w.Rdev != 0 {
		t.Fatalf("a/x is not a whiteout: %+v %v", w, err)
	}
	buf := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(dirs[1], "d"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Fatalf("d is not opaque: %q %v", buf[:n], err)
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "d/.wh..wh..opq")); !os.IsNotExist(err) {
		t.Fatal("the opaque marker was written as a file")
	}
	// Lookups by id prefix and short name; config.
	if got, err := s.Get(one.ID.Encoded()[:8]); err != nil || got.ID != one.ID {
		t.Fatalf("by id prefix: %v", err)
	}
	c, err := s.ConfigOf(ctx, one)
	if err != nil || c.Config.Cmd[0] != "/bin/tool" {
		t.Fatalf("config: %+v %v", c.Config, err)
	}
	// A gzipped archive (docker save | gzip) loads too.
	var gzipped bytes.Buffer
	zw := gzip.NewWriter(&gzipped)
	imagetest.WriteDocker(zw, imagetest.Image{Ref: "zipped:1", Config: cfg, Layers: [][]byte{base}})
	zw.Close()
	if l, err := s.Load(ctx, bytes.NewReader(gzipped.Bytes())); err != nil || l[0].ID != one.ID {
		t.Fatalf("gzipped archive: %+v %v", l, err)
	}
	// Loading again is idempotent.
	if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "one:v1", Config: cfg, Layers: [][]byte{base}})); err != nil {
		t.Fatal(err)
	}
	if n := len(s.List()); n != 2 {
		t.Fatalf("%d images after a reload of the same archive", n)
	}
	if got, _ := s.Get("one:v1"); strings.Join(got.RepoTags, ",") != "docker.io/library/one:v1,docker.io/library/zipped:1" {
		t.Fatalf("tags of one: %v", got.RepoTags)
	}
	// Records survive a reopen.
	s2, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get("example.com/two:v2"); err != nil {
		t.Fatal(err)
	}
}

func TestTagRemoveAndInUse(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	used := map[digest.Digest]bool{}
	s, root := openStore(t, func(id digest.Digest) bool { return used[id] })
	if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "one:v1", Layers: [][]byte{base}})); err != nil {
		t.Fatal(err)
	}
	img, err := s.Tag("one:v1", "other")
	if err != nil || len(img.RepoTags) != 2 {
		t.Fatalf("tag: %+v %v", img.RepoTags, err)
	}
	// By id, an image with two names is removed only with force.
	if _, err := s.Remove(ctx, img.ID.Encoded()[:12], false); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "has 2 names") {
		t.Fatalf("remove by id of an image with two names: %v", err)
	}
	// Removing one of two names only untags.
	r, err := s.Remove(ctx, "other", false)
	if err != nil || r.Deleted != "" || r.Untagged[0] != "docker.io/library/other:latest" {
		t.Fatalf("untag: %+v %v", r, err)
	}
	used[img.ID] = true
	if _, err := s.Remove(ctx, "one:v1", false); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "used by a container") {
		t.Fatalf("remove of an image in use: %v", err)
	}
	used[img.ID] = false
	if r, err := s.Remove(ctx, "one:v1", false); err != nil || r.Deleted != img.ID {
		t.Fatalf("remove: %+v %v", r, err)
	}
	if _, err := s.Get(img.ID.String()); !errdefs.IsNotFound(err) {
		t.Fatalf("image still there: %v", err)
	}
	if blobs, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256")); len(blobs) != 0 {
		t.Fatalf("%d blobs left after removing the only image", len(blobs))
	}
	if layers, _ := os.ReadDir(filepath.Join(root, "layers")); len(layers) != 0 {
		t.Fatalf("%d layers left after removing the only image", len(layers))
	}
}

// Every hostile archive is refused with an error that names the problem;
// nothing is recorded, nothing is left in the store, nothing is written
// outside data-root.
func TestHostileArchives(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	outside := t.TempDir()
	layer := func(e ...imagetest.Entry) imagetest.Image {
		return imagetest.Image{Ref: "evil:latest", Layers: [][]byte{imagetest.Tar(e...)}}
	}
	good := imagetest.Image{Ref: "evil:latest", Layers: [][]byte{base}, Gzip: true}
	mangled := func(f func(name string, b []byte) []byte) imagetest.Image {
		g := good
		g.Mangle = f
		return g
	}
	layerBlob := func(name string) bool {
		return strings.HasPrefix(name, "blobs/") && !strings.HasSuffix(name, "index.json")
	}
	cases := []struct {
		name, format string
		img          imagetest.Image
		want         string
	}{
		{"traversal", "docker", layer(imagetest.Entry{Name: "../../escape", Body: "x"}), `entry "../../escape": leaves the layer`},
		{"absolute", "docker", layer(imagetest.Entry{Name: outside + "/abs", Body: "x"}), "is an absolute path"},
		{"symlink escape", "docker", layer(
			imagetest.Entry{Name: "link", Type: tar.TypeSymlink, Linkname: outside},
			imagetest.Entry{Name: "link/file", Body: "x"}), `entry "link/file": path goes through the symbolic link "link"`},
		{"hard link escape", "docker", layer(imagetest.Entry{Name: "passwd", Type: tar.TypeLink, Linkname: "../../../etc/passwd"}), `entry "passwd": hard link target leaves the layer`},
		{"hard link through symlink", "docker", layer(
			imagetest.Entry{Name: "etc", Type: tar.TypeSymlink, Linkname: "/etc"},
			imagetest.Entry{Name: "pw", Type: tar.TypeLink, Linkname: "etc/passwd"}), `hard link target goes through the symbolic link "etc"`},
		{"device node", "docker", layer(imagetest.Entry{Name: "dev/mem", Type: tar.TypeChar}), `entry "dev/mem": device nodes are not allowed`},
		{"digest mismatch", "oci", mangled(func(name string, b []byte) []byte {
			if layerBlob(name) && len(b) > 100 && b[0] == 0x1f {
				b = append([]byte{}, b...)
				b[len(b)-10] ^= 0xff
			}
			return b
		}), "is not in the archive or store, or its content does not match its digest"},
		{"truncated blob", "oci", mangled(func(name string, b []byte) []byte {
			if layerBlob(name) && len(b) > 100 && b[0] == 0x1f {
				return b[:len(b)/2]
			}
			return b
		}), "is not in the archive or store"},
		{"missing blob", "oci", func() imagetest.Image {
			g := good
			var l bytes.Buffer
			imagetest.Write(&l, "oci", good) // find the layer's name
			tr := tar.NewReader(&l)
			g.Skip = map[string]bool{}
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				if strings.HasPrefix(h.Name, "blobs/") && h.Size > 200 {
					g.Skip[h.Name] = true
					break
				}
			}
			return g
		}(), "is not in the archive or store"},
		{"diff id mismatch", "docker", mangled(func(name string, b []byte) []byte {
			if strings.HasSuffix(name, "/layer.tar") {
				return imagetest.Tar(imagetest.Entry{Name: "other", Body: "y"})
			}
			return b
		}), "uncompressed digest"},
		{"not an archive", "raw", imagetest.Image{}, "load:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, root := openStore(t, nil)
			var r *bytes.Reader
			if tc.format == "raw" {
				r = bytes.NewReader([]byte("this is not a tar archive at all, just text"))
			} else {
				r = mkArchive(t, tc.format, tc.img)
			}
			_, err := s.Load(ctx, r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if n := len(s.List()); n != 0 {
				t.Fatalf("%d images recorded", n)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("written outside data-root: %v", ents)
			}
			if _, err := os.Stat(filepath.Join(root, "escape")); err == nil {
				t.Fatal("written to data-root itself")
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "layers")); len(ents) != 0 {
				t.Fatalf("layers left: %v", ents)
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256")); len(ents) != 0 {
				t.Fatalf("%d blobs left", len(ents))
			}
		})
	}
}

// FuzzExtract: no layer, however made, panics the extractor or writes
// outside its directory.
func FuzzExtract(f *testing.F) {
	f.Add(base)
	f.Add(top)
	f.Add(imagetest.Tar(imagetest.Entry{Name: "l", Type: tar.TypeSymlink, Linkname: "/"}, imagetest.Entry{Name: "l/x", Body: "x"}))
	f.Add(imagetest.Tar(imagetest.Entry{Name: "../x", Body: "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "layer")
		d := digest.FromBytes(data)
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: int64(len(data))}
		extract(context.Background(), bytes.NewReader(data), desc, d, dir, false)
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.Name() != "layer" {
				t.Fatalf("written outside the layer: %s", e.Name())
			}
		}
	})
}

// FuzzParseManifest: the manifest, index and config parsers never panic.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:x","size":-1}]}`))
	f.Add([]byte(`{"rootfs":{"type":"layers","diff_ids":["sha256:1"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err == nil {
			ParseConfig(b, m)
		}
		ParseIndex(b)
	})
}

// Loads running at the same time as failing loads (whose clean-up
// collects unreferenced blobs) and removals all end consistent: every
// recorded image has its blobs and layers.
func TestConcurrentLoadsAndCollection(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s, _ := openStore(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			top := imagetest.Tar(imagetest.Entry{Name: fmt.Sprintf("file-%d", i), Body: strings.Repeat("x", i*1000)})
			_, err := s.Load(ctx, mkArchive(t, "oci", imagetest.Image{Ref: fmt.Sprintf("good:%d", i), Layers: [][]byte{base, top}, Gzip: i%2 == 0}))
			errs <- err
		}(i)
		go func(i int) {
			defer wg.Done()
			if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "bad:1", Layers: [][]byte{imagetest.Tar(imagetest.Entry{Name: "../x"})}})); err == nil {
				errs <- fmt.Errorf("hostile load %d succeeded", i)
			}
			s.Prune(ctx)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.List()); n != 8 {
		t.Fatalf("%d images, want 8", n)
	}
	for _, img := range s.List() {
		if _, err := s.ConfigOf(ctx, img); err != nil {
			t.Fatalf("%v: config: %v", img.RepoTags, err)
		}
		if _, err := s.LayerDirs(img); err != nil {
			t.Fatalf("%v: %v", img.RepoTags, err)
		}
		for _, l := range img.Layers {
			if ok, _ := cas.Has(ctx, s.Content(), l); !ok {
				t.Fatalf("%v: layer blob %s gone", img.RepoTags, l.Digest)
			}
		}
	}
}

// A loaded OCI layout gives its manifest's digest as the repository digest,
// and name@digest and name:tag@digest find the image; a docker v1 archive
// (no manifest of its own) gives none. A digest goes alone while the image
// has another name.
func TestRepoDigests(t *testing.T) {
	needRoot(t)
	ctx := t.Context()
	s, _ := openStore(t, nil)
	if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "one:v1", Layers: [][]byte{base}})); err != nil {
		t.Fatal(err)
	}
	one, err := s.Get("one:v1")
	if err != nil || len(one.RepoDigests) != 0 {
		t.Fatalf("docker v1 archive: repo digests %v, %v", one.RepoDigests, err)
	}
	if _, err := s.Get("one@" + one.Manifest.Digest.String()); !errors.Is(err, errs.NoSuchImage) {
		t.Fatalf("digest the importer made up resolved: %v", err)
	}
	if _, err := s.Load(ctx, mkArchive(t, "oci", imagetest.Image{Ref: "example.com/two:v2", Layers: [][]byte{base, top}})); err != nil {
		t.Fatal(err)
	}
	two, err := s.Get("example.com/two:v2")
	if err != nil {
		t.Fatal(err)
	}
	md := two.Manifest.Digest.String()
	if want := []string{"example.com/two@" + md}; !slices.Equal(two.RepoDigests, want) {
		t.Fatalf("repo digests %v, want %v", two.RepoDigests, want)
	}
	for _, tc := range []struct {
		ref   string
		found bool
	}{
		{"example.com/two@" + md, true},
		{"example.com/two:v2@" + md, true},
		{"example.com/two:other@" + md, true}, // the digest decides
		{"example.com/three@" + md, false},    // another repository
		{"example.com/two@sha256:" + strings.Repeat("0", 64), false},
		{"one@" + md, false},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			img, err := s.Get(tc.ref)
			if tc.found && (err != nil || img.ID != two.ID) {
				t.Fatalf("got %s, %v; want %s", img.ID, err, two.ID)
			}
			if !tc.found && !errors.Is(err, errs.NoSuchImage) {
				t.Fatalf("got %s, %v; want no such image", img.ID, err)
			}
		})
	}
	r, err := s.Remove(ctx, "example.com/two@"+md, false)
	if err != nil || r.Deleted != "" || !slices.Equal(r.Untagged, []string{"example.com/two@" + md}) {
		t.Fatalf("remove of a digest beside a tag: %+v, %v", r, err)
	}
	if img, err := s.Get("example.com/two:v2"); err != nil || len(img.RepoDigests) != 0 {
		t.Fatalf("after untag: %+v, %v", img.RepoDigests, err)
	}
}

// A load keeps only what its images reference: the archive's index (its
// own or the importer's) and members no manifest names are gone when the
// load returns, in both formats.
func TestLoadKeepsOnlyReferencedBlobs(t *testing.T) {
	needRoot(t)
	for _, format := range []string{"docker", "oci"} {
		t.Run(format, func(t *testing.T) {
			ctx := t.Context()
			s, root := openStore(t, nil)
			junk := bytes.Repeat([]byte("junk "), 60000) // 300 KB
			l, err := s.Load(ctx, mkArchive(t, format, imagetest.Image{Ref: "kept:v1", Layers: [][]byte{base, top}, Junk: [][]byte{junk}}))
			if err != nil || len(l) != 1 {
				t.Fatalf("load: %v %v", l, err)
			}
			img, err := s.Get("kept:v1")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{img.Manifest.Digest.Encoded(): true, img.Config.Digest.Encoded(): true}
			for _, d := range img.Layers {
				want[d.Digest.Encoded()] = true
			}
			ents, err := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Name())
				if !want[e.Name()] {
					t.Errorf("blob %s stayed, no image references it", e.Name())
				}
			}
			if len(got) != len(want) {
				t.Fatalf("blobs %v, want %d", got, len(want))
			}
			if _, err := s.ConfigOf(ctx, img); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// While another load or pull runs, a load's unreferenced blobs stay (the
// other's blobs are not referenced yet either) and the last to end
// collects them.
func TestLoadCollectionWaitsForOthers(t *testing.T) {
	needRoot(t)
	ctx := t.Context()
	s, root := openStore(t, nil)
	count := func() int {
		ents, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
		return len(ents)
	}
	s.gcMu.RLock() // a pull in progress
	if _, err := s.Load(ctx, mkArchive(t, "oci", imagetest.Image{Ref: "kept:v1", Layers: [][]byte{base}, Junk: [][]byte{[]byte("junk")}})); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 5 { // manifest, config, layer, junk, index
		t.Fatalf("%d blobs while another load runs, want 5", n)
	}
	if !s.release(ctx, false) {
		t.Fatal("the last to end did not collect")
	}
	if n := count(); n != 3 {
		t.Fatalf("%d blobs after the last load ended, want 3", n)
	}
}

// Untag leaves a dangling image; RemoveUnused removes what its match
// selects and no container uses, and what only those images used; every
// change is told to OnChange.
func TestUntagAndRemoveUnused(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	used := map[digest.Digest]bool{}
	s, root := openStore(t, func(id digest.Digest) bool { return used[id] })
	var changes int
	s.OnChange(func() { changes++ })
	if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "one:v1", Layers: [][]byte{base}})); err != nil {
		t.Fatal(err)
	}
	two, err := s.Load(ctx, mkArchive(t, "oci", imagetest.Image{Ref: "example.com/two:v2", Layers: [][]byte{base, top}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Untag(two[0].ID.String()); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("untag by id: %v", err)
	}
	if _, err := s.Untag("nosuch:v1"); !errors.Is(err, errs.NoSuchImage) {
		t.Fatalf("untag of an unknown name: %v", err)
	}
	r, err := s.Untag("example.com/two:v2")
	if err != nil || r.Deleted != "" || !slices.Equal(r.Untagged, []string{"example.com/two:v2"}) {
		t.Fatalf("untag: %+v %v", r, err)
	}
	img, err := s.Get(two[0].ID.String())
	if err != nil || len(img.RepoTags) != 0 {
		t.Fatalf("the untagged image: %+v %v", img, err)
	}
	if changes != 3 {
		t.Fatalf("%d changes told, want 3 (two loads, an untag)", changes)
	}
	used[img.ID] = true
	removed, _, err := s.RemoveUnused(ctx, func(i Image) bool { return len(i.RepoTags) == 0 })
	if err != nil || len(removed) != 0 {
		t.Fatalf("prune of an image in use: %+v %v", removed, err)
	}
	used[img.ID] = false
	removed, p, err := s.RemoveUnused(ctx, func(i Image) bool { return len(i.RepoTags) == 0 })
	if err != nil || len(removed) != 1 || removed[0].Deleted != img.ID || p.Layers != 1 || p.Bytes == 0 {
		t.Fatalf("prune of dangling images: %+v %+v %v", removed, p, err)
	}
	if l := s.List(); len(l) != 1 || l[0].RepoTags[0] != "docker.io/library/one:v1" {
		t.Fatalf("left: %+v", l)
	}
	if layers, _ := os.ReadDir(filepath.Join(root, "layers")); len(layers) != 1 {
		t.Fatalf("%d layers left, want the base's", len(layers))
	}
	if changes != 4 {
		t.Fatalf("%d changes told, want 4", changes)
	}
}
