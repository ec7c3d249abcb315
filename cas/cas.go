// Package cas is berth's content-addressed store: blobs keyed by their
// sha256 digest in an OCI image-layout style tree under data-root
// (blobs/sha256/<hex>), written through an ingest area (ingest/); both
// directories are 0700, so nothing below them is reachable by other users.
//
// The store is containerd's local content store: a write goes to
// ingest/<ref>, is checked against the expected digest and size when it is
// committed, and becomes visible only by a rename, so a partial or wrong
// blob is never seen under a digest; writers of the same blob are locked
// against each other. Reads of small blobs (manifests, configs, indexes)
// go through ReadVerified, which checks the digest again.
package cas

import (
	"context"
	_ "crypto/sha256" // go-digest needs it registered
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxSmallBlob bounds what ReadVerified reads into memory.
const MaxSmallBlob = 16 << 20

// Open returns the store rooted at root (data-root). blobs/ and ingest/
// are for root only (0700): blobs are image configs (environment
// included) and layers, which only InspectImage's callers may see; the
// modes of an existing store are tightened.
func Open(root string) (content.Store, error) {
	cs, err := local.NewStore(root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"blobs", "ingest"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, 0o700); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// ReadVerified reads a whole small blob and checks its size and digest.
func ReadVerified(ctx context.Context, p content.Provider, desc ocispec.Descriptor) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
	}
	if desc.Size < 0 || desc.Size > MaxSmallBlob {
		return nil, fmt.Errorf("blob %s: size %d out of range: %w", desc.Digest, desc.Size, errdefs.ErrInvalidArgument)
	}
	ra, err := p.ReaderAt(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	if ra.Size() != desc.Size {
		return nil, fmt.Errorf("blob %s: size %d, descriptor says %d: %w", desc.Digest, ra.Size(), desc.Size, errdefs.ErrInvalidArgument)
	}
	b := make([]byte, desc.Size)
	if _, err := ra.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	if got := desc.Digest.Algorithm().FromBytes(b); got != desc.Digest {
		return nil, fmt.Errorf("blob %s: content has digest %s: %w", desc.Digest, got, errdefs.ErrDataLoss)
	}
	return b, nil
}

// Has reports whether the store holds the blob with the descriptor's size.
func Has(ctx context.Context, s content.InfoProvider, desc ocispec.Descriptor) (bool, error) {
	info, err := s.Info(ctx, desc.Digest)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Size == desc.Size, nil
}
