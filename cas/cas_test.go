package cas

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPutReadAndLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{Digest: digest.FromString("hello"), Size: 5}
	if err := content.WriteBlob(ctx, s, "hello", bytes.NewReader([]byte("hello")), desc); err != nil {
		t.Fatal(err)
	}
	// OCI image-layout style: blobs/sha256/<hex>.
	if b, err := os.ReadFile(filepath.Join(root, "blobs", "sha256", desc.Digest.Encoded())); err != nil || string(b) != "hello" {
		t.Fatalf("blob file: %q %v", b, err)
	}
	if b, err := ReadVerified(ctx, s, desc); err != nil || string(b) != "hello" {
		t.Fatalf("read: %q %v", b, err)
	}
	if ok, err := Has(ctx, s, desc); !ok || err != nil {
		t.Fatalf("has: %v %v", ok, err)
	}
	// A blob changed on disk is caught on read.
	os.Chmod(filepath.Join(root, "blobs", "sha256", desc.Digest.Encoded()), 0o644)
	os.WriteFile(filepath.Join(root, "blobs", "sha256", desc.Digest.Encoded()), []byte("hellO"), 0o644)
	if _, err := ReadVerified(ctx, s, desc); !errdefs.IsDataLoss(err) {
		t.Fatalf("a damaged blob read without error: %v", err)
	}
}

// A write whose content does not match the expected digest is never
// visible; writers of the same blob, with the same or other refs, all
// succeed and leave one blob.
func TestWritesAreVerifiedAndConcurrent(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("berth"), 100000)
	want := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	wrong := ocispec.Descriptor{Digest: digest.FromBytes([]byte("other")), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, s, "wrong", bytes.NewReader(data), wrong); err == nil {
		t.Fatal("a blob with the wrong digest was committed")
	}
	if _, err := s.Info(ctx, wrong.Digest); !errdefs.IsNotFound(err) {
		t.Fatalf("the wrong blob is visible: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ref := "same-ref"
			if i%2 == 1 {
				ref = "ref-" + string(rune('a'+i))
			}
			errs <- content.WriteBlob(ctx, s, ref, bytes.NewReader(data), want)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
	}
	if b, err := ReadVerified(ctx, s, want); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("after concurrent writes: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
	if len(ents) != 1 {
		t.Fatalf("%d blobs, want 1", len(ents))
	}
}

// blobs/ and ingest/ are for root only, in a new store and in one an
// older berth left open (0755).
func TestOpenKeepsStoreForRootOnly(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(map[bool]string{false: "new", true: "older"}[old], func(t *testing.T) {
			root := t.TempDir()
			if old {
				for _, d := range []string{"blobs/sha256", "ingest"} {
					if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				os.Chmod(filepath.Join(root, "blobs"), 0o755)
			}
			if _, err := Open(root); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{"blobs", "ingest"} {
				st, err := os.Stat(filepath.Join(root, d))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700", d, st.Mode().Perm())
				}
			}
		})
	}
}
