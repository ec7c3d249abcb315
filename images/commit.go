package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Commit records a new image: base's layers and one more, the
// uncompressed tar stream diff (an OCI layer: whiteouts as ".wh."
// entries), with config cfg, whose RootFS this completes (base's diff ids
// and the new layer's); cfg's history, dates and container config
// (docker's, with its Healthcheck) are the caller's. tag (a normalised name, or "") moves to the new image. The
// layer is stored uncompressed (as docker's own store keeps it), unpacked
// by chain id like a loaded one, and the image is recorded only when all
// is in place: on error nothing is recorded, and the blobs and layer
// written are collected (as after a failed load).
func (s *Store) Commit(ctx context.Context, base Image, diff io.Reader, cfg dockerspec.DockerOCIImage, tag string) (img Image, err error) {
	s.gcMu.RLock()
	defer func() {
		if !s.release(ctx, true) && err != nil {
			s.gc(ctx) // what the failed commit left, once others are done
		}
		if err == nil {
			s.notify()
		}
	}()
	layer, err := s.writeLayer(ctx, diff)
	if err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	baseCfg, err := s.ConfigOf(ctx, base)
	if err != nil {
		return Image{}, fmt.Errorf("commit: image %s: %w", base.ID.Encoded()[:12], err)
	}
	if len(baseCfg.RootFS.DiffIDs) != len(base.Layers) {
		return Image{}, invalid("commit: image %s: %d diff ids for %d layers", base.ID.Encoded()[:12], len(baseCfg.RootFS.DiffIDs), len(base.Layers))
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: append(append([]digest.Digest(nil), baseCfg.RootFS.DiffIDs...), layer.Digest)}
	cfgDesc, err := s.writeJSON(ctx, ocispec.MediaTypeImageConfig, cfg)
	if err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	man := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfgDesc, Layers: append(append([]ocispec.Descriptor(nil), base.Layers...), layer),
	}
	manDesc, err := s.writeJSON(ctx, ocispec.MediaTypeImageManifest, man)
	if err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	chain := identity.ChainID(cfg.RootFS.DiffIDs)
	if err := s.layers.Unpack(ctx, s.cs, layer, layer.Digest, chain); err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	rec := &Image{
		ID: cfgDesc.Digest, Manifest: manDesc, Config: cfgDesc, Layers: man.Layers,
		ChainIDs:     append(append([]digest.Digest(nil), base.ChainIDs...), chain),
		Architecture: cfg.Architecture, OS: cfg.OS, Size: cfgDesc.Size,
	}
	if cfg.Created != nil {
		rec.Created = cfg.Created.UTC()
	}
	for _, l := range man.Layers {
		rec.Size += l.Size
	}
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(rec, tags, nil)
	if err := s.save(); err != nil {
		return Image{}, err
	}
	return copyImage(rec), nil
}

// writeLayer stores the tar stream r as an uncompressed layer blob (its
// digest is its diff id). It is spooled to a file first, as the content
// store wants the digest and size before it commits; the file is named
// like an unpack in progress, so that a collection removes one a crash
// left.
func (s *Store) writeLayer(ctx context.Context, r io.Reader) (ocispec.Descriptor, error) {
	f, err := os.CreateTemp(s.layers.root, ".unpack-commit-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	d := digest.SHA256.Digester()
	n, err := io.Copy(io.MultiWriter(f, d.Hash()), r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d.Digest(), Size: n}
	if err := content.WriteBlob(ctx, s.cs, "commit-"+desc.Digest.String(), f, desc); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

func (s *Store) writeJSON(ctx context.Context, mediaType string, v any) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	ref := strings.ReplaceAll(mediaType, "/", "-") + "-" + desc.Digest.String()
	if err := content.WriteBlob(ctx, s.cs, ref, bytes.NewReader(b), desc); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}
