package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layers holds unpacked layers, one directory per chain id:
// <root>/<chain id hex>/diff, in overlay form (whiteouts as 0/0 character
// devices, opaque directories with trusted.overlay.opaque=y). A layer
// directory appears only complete, by a rename.
type Layers struct{ root string }

// Dir returns the unpacked tree of a chain id.
func (l Layers) Dir(chain digest.Digest) string {
	return filepath.Join(l.root, chain.Encoded(), "diff")
}

// Has reports whether the chain id is unpacked.
func (l Layers) Has(chain digest.Digest) bool {
	_, err := os.Stat(l.Dir(chain))
	return err == nil
}

// Unpack unpacks layer blob desc, whose uncompressed digest must be diffID,
// as chain id chain, unless it is there already.
func (l Layers) Unpack(ctx context.Context, cs content.Provider, desc ocispec.Descriptor, diffID, chain digest.Digest) error {
	if l.Has(chain) {
		return nil
	}
	if err := os.MkdirAll(l.root, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(l.root, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	if err := extract(ctx, io.NewSectionReader(ra, 0, ra.Size()), desc, diffID, filepath.Join(tmp, "diff"), true); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(l.root, chain.Encoded())); err != nil {
		if l.Has(chain) {
			return nil // another unpack of the same layer won
		}
		return err
	}
	return nil
}

// extract checks the blob against desc, decompresses it, checks the tar
// stream against diffID and applies it to dir, refusing entries that would
// leave dir. A blob from the content store (stored) was verified when it
// was committed, so it is not hashed again; nor is an uncompressed layer
// whose digest is its diff id.
func extract(ctx context.Context, r io.Reader, desc ocispec.Descriptor, diffID digest.Digest, dir string, stored bool) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	blobDigester := digest.SHA256.Digester()
	var hashed io.Writer = blobDigester.Hash()
	if stored {
		hashed = io.Discard
	}
	counted := &countingReader{r: io.TeeReader(r, hashed)}
	ds, err := compression.DecompressStream(counted)
	if err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer ds.Close()
	diffDigester := digest.SHA256.Digester()
	sameAsBlob := desc.Digest == diffID && ds.GetCompression() == compression.Uncompressed
	var tr io.Reader = io.TeeReader(ds, diffDigester.Hash())
	if sameAsBlob {
		tr = ds // the blob digest covers it
	}
	opts := []archive.ApplyOpt{
		archive.WithFilter(safeEntry(dir)),
		archive.WithConvertWhiteout(archive.OverlayConvertWhiteout),
	}
	if os.Geteuid() != 0 {
		opts = append(opts, archive.WithNoSameOwner())
	}
	if _, err := archive.Apply(ctx, dir, tr, opts...); err != nil {
		var ee *entryError
		if errors.As(err, &ee) {
			return fmt.Errorf("layer %s: %w", desc.Digest, ee)
		}
		return fmt.Errorf("layer %s: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
	}
	// The tar end marker may leave padding unread; the digests cover all.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return fmt.Errorf("layer %s: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
	}
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return fmt.Errorf("layer %s: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
	}
	if counted.n != desc.Size {
		return fmt.Errorf("layer %s: %d bytes, want %d: %w", desc.Digest, counted.n, desc.Size, errdefs.ErrDataLoss)
	}
	if !stored {
		if got := blobDigester.Digest(); got != desc.Digest {
			return fmt.Errorf("layer %s: content has digest %s: %w", desc.Digest, got, errdefs.ErrDataLoss)
		}
	}
	if sameAsBlob {
		return nil
	}
	if got := diffDigester.Digest(); got != diffID {
		return fmt.Errorf("layer %s: uncompressed digest %s, the image config says %s: %w", desc.Digest, got, diffID, errdefs.ErrDataLoss)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// entryError names the tar entry that was refused.
type entryError struct {
	name, why string
}

func (e *entryError) Error() string { return fmt.Sprintf("entry %q: %s", e.name, e.why) }
func (e *entryError) Unwrap() error { return errdefs.ErrInvalidArgument }

// safeEntry refuses entries that could write outside dir: those that
// CheckEntry refuses, and paths or hard link targets that go through a
// symbolic link made by an earlier entry. (Symbolic links themselves may
// point anywhere: they are resolved inside the container.)
func safeEntry(dir string) archive.Filter {
	return func(hdr *tar.Header) (bool, error) {
		if err := checkEntry(hdr, "the layer"); err != nil {
			return false, err
		}
		name := hdr.Name
		if hdr.Typeflag == tar.TypeLink {
			if link := throughSymlink(dir, filepath.Clean(hdr.Linkname)); link != "" {
				return false, &entryError{name, fmt.Sprintf("hard link target goes through the symbolic link %q", link)}
			}
		}
		if link := throughSymlink(dir, name); link != "" {
			return false, &entryError{name, fmt.Sprintf("path goes through the symbolic link %q", link)}
		}
		return true, nil
	}
}

// CheckEntry refuses a tar entry that could reach outside the directory
// it is extracted into whatever that directory holds: an absolute name, a
// name with "..", a hard link whose target is either, and device nodes.
// It does not look at the directory: an extraction into one that has
// content (a container's) must also resolve every path inside it. The
// error unwraps to errdefs.ErrInvalidArgument and names the entry.
func CheckEntry(hdr *tar.Header) error { return checkEntry(hdr, "the destination") }

func checkEntry(hdr *tar.Header, where string) error {
	name := hdr.Name
	if err := checkName(name, where); err != "" {
		return &entryError{name, err}
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return &entryError{name, "device nodes are not allowed"}
	case tar.TypeLink:
		if err := checkName(filepath.Clean(hdr.Linkname), where); err != "" {
			return &entryError{name, "hard link target " + err}
		}
	}
	return nil
}

func checkName(name, where string) string {
	if filepath.IsAbs(name) {
		return "is an absolute path"
	}
	if name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.HasSuffix(name, "/..") {
		return "leaves " + where + " (\"..\")"
	}
	return ""
}

// throughSymlink returns the first of name's parent directories under dir
// that is a symbolic link.
func throughSymlink(dir, name string) string {
	parts := strings.Split(name, "/")
	parts = parts[:len(parts)-1]
	p := dir
	for i, c := range parts {
		if c == "" || c == "." {
			continue
		}
		p = filepath.Join(p, c)
		st, err := os.Lstat(p)
		if err != nil {
			return ""
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}
