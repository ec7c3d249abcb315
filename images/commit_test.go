package images

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berthd/berth/images/imagetest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A commit records the base's layers plus the new one, unpacked (its
// whiteouts in overlay form), tagged; run again on the base with a diff
// that fails half-way it records nothing and leaves no blob or layer.
func TestCommit(t *testing.T) {
	needRoot(t)
	ctx := t.Context()
	s, root := openStore(t, nil)
	if _, err := s.Load(ctx, mkArchive(t, "docker", imagetest.Image{Ref: "base:v1", Layers: [][]byte{base}})); err != nil {
		t.Fatal(err)
	}
	b, err := s.Get("base:v1")
	if err != nil {
		t.Fatal(err)
	}
	count := func() (int, int, int) {
		blobs, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
		layers, _ := os.ReadDir(filepath.Join(root, "layers"))
		return len(s.List()), len(blobs), len(layers)
	}
	i0, b0, l0 := count()

	// A diff that fails half-way: nothing is left.
	broken := io.MultiReader(bytes.NewReader(top[:512]), iotest.ErrReader(errors.New("diff failed")))
	if _, err := s.Commit(ctx, b, broken, dockerspec.DockerOCIImage{}, "docker.io/library/broken:v1"); err == nil {
		t.Fatal("a failing diff committed")
	}
	if i, bl, l := count(); i != i0 || bl != b0 || l != l0 {
		t.Fatalf("after a failed commit: %d images, %d blobs, %d layers; before %d, %d, %d", i, bl, l, i0, b0, l0)
	}

	diff := imagetest.Tar(
		imagetest.Entry{Name: "a/.wh.x"},
		imagetest.Entry{Name: "added", Body: "new file"},
	)
	cfg := dockerspec.DockerOCIImage{Image: ocispec.Image{Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"}}}
	cfg.Config.Cmd = []string{"x"}
	img, err := s.Commit(ctx, b, bytes.NewReader(diff), cfg, "docker.io/library/new:v2")
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || len(img.ChainIDs) != 2 || img.Layers[0].Digest != b.Layers[0].Digest || img.RepoTags[0] != "docker.io/library/new:v2" {
		t.Fatalf("image %+v", img)
	}
	got, err := s.ConfigOf(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RootFS.DiffIDs) != 2 || got.RootFS.DiffIDs[1] != img.Layers[1].Digest || got.Config.Cmd[0] != "x" {
		t.Fatalf("config %+v", got)
	}
	dirs, err := s.LayerDirs(img)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := os.ReadFile(filepath.Join(dirs[1], "added")); err != nil || string(body) != "new file" {
		t.Fatalf("added: %q %v", body, err)
	}
	if st, err := os.Lstat(filepath.Join(dirs[1], "a", "x")); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("a/x in the new layer is not a whiteout: %v %v", st, err)
	}
	if again, err := s.Get("new:v2"); err != nil || again.ID != img.ID {
		t.Fatalf("get new:v2: %v %v", again, err)
	}
}
