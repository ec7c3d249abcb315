package images

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berthd/berth/cas"
	"github.com/berthd/berth/errs"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types berth reads besides the OCI ones (docker schema2).
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

func isManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

func isLayer(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		ocispec.MediaTypeImageLayerNonDistributable, ocispec.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck // still seen
		MediaTypeDockerLayer, MediaTypeDockerLayerGzip:
		return true
	}
	return false
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
}

func checkDescriptor(what string, d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return invalid("%s: digest %q: %v", what, d.Digest, err)
	}
	if d.Digest.Algorithm() != digest.SHA256 {
		return invalid("%s: digest %s: only sha256 is supported", what, d.Digest)
	}
	if d.Size < 0 {
		return invalid("%s %s: negative size", what, d.Digest)
	}
	return nil
}

// ParseIndex decodes and checks an OCI index or docker manifest list.
func ParseIndex(b []byte) (ocispec.Index, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, invalid("index: %v", err)
	}
	if idx.SchemaVersion != 2 {
		return idx, invalid("index: schemaVersion %d, want 2", idx.SchemaVersion)
	}
	for i, m := range idx.Manifests {
		if err := checkDescriptor(fmt.Sprintf("index entry %d", i), m); err != nil {
			return idx, err
		}
	}
	return idx, nil
}

// ParseManifest decodes and checks an image manifest (OCI or docker
// schema2).
func ParseManifest(b []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, invalid("manifest: %v", err)
	}
	if m.SchemaVersion != 2 {
		return m, invalid("manifest: schemaVersion %d, want 2", m.SchemaVersion)
	}
	if err := checkDescriptor("manifest config", m.Config); err != nil {
		return m, err
	}
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, MediaTypeDockerConfig:
	default:
		return m, invalid("manifest config %s: media type %q is not an image config", m.Config.Digest, m.Config.MediaType)
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layer %d", i), l); err != nil {
			return m, err
		}
		if !isLayer(l.MediaType) {
			return m, invalid("layer %d (%s): media type %q is not supported", i, l.Digest, l.MediaType)
		}
	}
	return m, nil
}

// ParseConfig decodes an image config and checks it against the manifest.
func ParseConfig(b []byte, m ocispec.Manifest) (ocispec.Image, error) {
	var c ocispec.Image
	if err := json.Unmarshal(b, &c); err != nil {
		return c, invalid("image config: %v", err)
	}
	if c.RootFS.Type != "layers" {
		return c, invalid("image config: rootfs type %q, want layers", c.RootFS.Type)
	}
	if len(c.RootFS.DiffIDs) != len(m.Layers) {
		return c, invalid("image config lists %d layer diff ids, the manifest %d layers", len(c.RootFS.DiffIDs), len(m.Layers))
	}
	for i, d := range c.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return c, invalid("image config: diff id %d %q: %v", i, d, err)
		}
	}
	return c, nil
}

// resolved is one image manifest chosen for a platform, with its config.
type resolved struct {
	Desc     ocispec.Descriptor // the manifest
	Manifest ocispec.Manifest
	Config   ocispec.Image
	Raw      []byte // the config as stored
}

// resolve follows desc (an index, a manifest list or a manifest) to the
// manifest for platform and reads its config. Every blob it reads is
// verified, and every layer must be in the store.
func resolve(ctx context.Context, cs content.Store, desc ocispec.Descriptor, platform platforms.MatchComparer, depth int) (resolved, error) {
	if depth > 4 {
		return resolved{}, invalid("index %s: nested too deep", desc.Digest)
	}
	b, err := cas.ReadVerified(ctx, cs, desc)
	if err != nil {
		return resolved{}, missing(desc, err)
	}
	mt := desc.MediaType
	if mt == "" {
		var probe struct {
			MediaType string          `json:"mediaType"`
			Manifests json.RawMessage `json:"manifests"`
		}
		json.Unmarshal(b, &probe)
		mt = probe.MediaType
		if mt == "" && probe.Manifests != nil {
			mt = ocispec.MediaTypeImageIndex
		} else if mt == "" {
			mt = ocispec.MediaTypeImageManifest
		}
	}
	switch {
	case isIndex(mt):
		idx, err := ParseIndex(b)
		if err != nil {
			return resolved{}, err
		}
		var best *ocispec.Descriptor
		for i := range idx.Manifests {
			m := &idx.Manifests[i]
			if !isIndex(m.MediaType) && !isManifest(m.MediaType) {
				continue // attestations and other artifacts
			}
			if m.Platform != nil && !platform.Match(*m.Platform) {
				continue
			}
			if best == nil || (m.Platform != nil && best.Platform != nil && platform.Less(*m.Platform, *best.Platform)) {
				best = m
			}
		}
		if best == nil {
			return resolved{}, fmt.Errorf("index %s: %w (%s)", desc.Digest, errs.NoSuchPlatform, platforms.DefaultString())
		}
		return resolve(ctx, cs, *best, platform, depth+1)
	case isManifest(mt):
		m, err := ParseManifest(b)
		if err != nil {
			return resolved{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		raw, err := cas.ReadVerified(ctx, cs, m.Config)
		if err != nil {
			return resolved{}, missing(m.Config, err)
		}
		c, err := ParseConfig(raw, m)
		if err != nil {
			return resolved{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		for i, l := range m.Layers {
			ok, err := cas.Has(ctx, cs, l)
			if err != nil {
				return resolved{}, err
			}
			if !ok {
				return resolved{}, invalid("manifest %s: layer %d (%s, %d bytes) is not in the archive or store, or its content does not match its digest", desc.Digest, i, l.Digest, l.Size)
			}
		}
		desc.MediaType = mt
		return resolved{Desc: desc, Manifest: m, Config: c, Raw: raw}, nil
	}
	return resolved{}, invalid("%s: media type %q is neither an index nor a manifest", desc.Digest, mt)
}

func missing(desc ocispec.Descriptor, err error) error {
	if errdefs.IsNotFound(err) {
		return invalid("blob %s (%s) is not in the archive or store, or its content does not match its digest", desc.Digest, desc.MediaType)
	}
	return err
}
