// Package images keeps berth's images: blobs in the content store (cas),
// one record per image (its id is the config digest, as with docker) in
// images.json under data-root, and unpacked layers shared by chain id.
//
// Load reads docker save and OCI-layout archives (containerd's importer),
// resolves each manifest for the host platform, verifies every blob,
// unpacks the layers and only then records the image and moves its tags;
// a failed load records nothing; Commit records a base image's layers and
// one more in the same way. The store keeps only what images
// reference: the blobs a load or pull leaves that no image uses (an
// archive's index and stray members, a pulled index, all of a failed one)
// are collected when it ends, or, while other loads, pulls or saves run,
// by the last of them to end. Loads and pulls run side by side; records
// change under one lock, and collecting unreferenced blobs and layers
// waits for loads, pulls and saves in progress.
//
// Loads, pulls and removals of images are written as events (package
// events) here, and every change is told to the OnChange function (the bus
// edge's image objects follow it), so both API edges see the same store.
package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/cas"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/containerd/containerd/v2/core/content"
	ctrimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// RecordVersion is the format version of images.json.
const RecordVersion = 1

// Image is one image record.
type Image struct {
	ID       digest.Digest `json:"id"` // config digest
	RepoTags []string      `json:"repo_tags,omitempty"`
	// RepoDigests are the repository digests the image is known by
	// ("docker.io/library/busybox@sha256:…", normalised): the digest of
	// what was pulled (an index or a manifest), or of a loaded archive's
	// own manifest, one entry per repository and digest.
	RepoDigests  []string             `json:"repo_digests,omitempty"`
	Manifest     ocispec.Descriptor   `json:"manifest"`
	Config       ocispec.Descriptor   `json:"config"`
	Layers       []ocispec.Descriptor `json:"layers"`
	ChainIDs     []digest.Digest      `json:"chain_ids"`
	Created      time.Time            `json:"created,omitzero"`
	Architecture string               `json:"architecture"`
	OS           string               `json:"os"`
	Size         int64                `json:"size"`
}

type file struct {
	Version int               `json:"version"`
	Images  map[string]*Image `json:"images"`
}

// Store is the image store under data-root.
type Store struct {
	// gcMu is held shared by loads, pulls and saves for their whole run
	// (their blobs are not referenced yet, or must stay), and exclusively
	// by the collection of unreferenced blobs and layers.
	gcMu sync.RWMutex
	// collect is set when a load or pull has ended that may have left
	// blobs no image references (an archive's index and stray members,
	// a pulled index); the last of the loads, pulls and saves in progress
	// collects them.
	collect  atomic.Bool
	mu       sync.Mutex // guards images and images.json
	root     string
	cs       content.Store
	layers   Layers
	platform platforms.MatchComparer
	inUse    func(id digest.Digest) bool
	images   map[digest.Digest]*Image
	// LayerUser, if set, tells whether a container's root file system
	// uses an unpacked layer (by chain id hex); such layers outlive the
	// removal of their image.
	LayerUser func(chainHex string) bool
	// changed is called, without locks held, after images came, went or
	// were renamed.
	changedMu sync.Mutex
	changed   func()
}

// OnChange sets the function called (without locks held) after images
// were loaded, pulled, tagged, untagged or removed.
func (s *Store) OnChange(f func()) {
	s.changedMu.Lock()
	s.changed = f
	s.changedMu.Unlock()
}

func (s *Store) notify() {
	s.changedMu.Lock()
	f := s.changed
	s.changedMu.Unlock()
	if f != nil {
		f()
	}
}

// short is the 12-digit form of an image id.
func short(id digest.Digest) string {
	if e := id.Encoded(); len(e) > 12 {
		return e[:12]
	}
	return id.Encoded()
}

// Open reads the image records under dataRoot. inUse tells whether a
// container uses an image (such images are not removed without force).
func Open(dataRoot string, inUse func(digest.Digest) bool) (*Store, error) {
	cs, err := cas.Open(dataRoot)
	if err != nil {
		return nil, err
	}
	if inUse == nil {
		inUse = func(digest.Digest) bool { return false }
	}
	s := &Store{
		root: dataRoot, cs: cs, layers: Layers{root: filepath.Join(dataRoot, "layers")},
		platform: platforms.Default(), inUse: inUse, images: map[digest.Digest]*Image{},
	}
	// Records and unpacked layers are for root only; an existing store's
	// modes are tightened (nothing below is reachable then).
	for _, d := range []string{filepath.Join(dataRoot, "images"), s.layers.root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, err
		}
	}
	// Only berthd writes the record: a temporary file beside it is a
	// write cut short by a kill.
	if _, err := atomicfile.RemoveTemps(filepath.Dir(s.recordPath())); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.recordPath())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", s.recordPath(), err)
	}
	if f.Version > RecordVersion {
		return nil, fmt.Errorf("%s: format version %d is newer than this berthd knows (%d)", s.recordPath(), f.Version, RecordVersion)
	}
	for _, img := range f.Images {
		s.images[img.ID] = img
	}
	return s, nil
}

// Content is the store's content store.
func (s *Store) Content() content.Store { return s.cs }

func (s *Store) recordPath() string { return filepath.Join(s.root, "images", "images.json") }

func (s *Store) save() error {
	f := file{Version: RecordVersion, Images: map[string]*Image{}}
	for id, img := range s.images {
		f.Images[id.String()] = img
	}
	return atomicfile.WriteJSON(s.recordPath(), f, 0o600)
}

// NormalizeRef turns "busybox" into "docker.io/library/busybox:latest".
func NormalizeRef(ref string) (string, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", invalid("image reference %q: %v", ref, err)
	}
	if _, ok := n.(reference.Digested); ok {
		return n.String(), nil
	}
	return reference.TagNameOnly(n).String(), nil
}

// Familiar is the short form of a normalised reference ("busybox:latest").
func Familiar(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(n)
}

func copyImage(img *Image) Image {
	c := *img
	c.RepoTags = slices.Clone(img.RepoTags)
	c.RepoDigests = slices.Clone(img.RepoDigests)
	c.Layers = slices.Clone(img.Layers)
	c.ChainIDs = slices.Clone(img.ChainIDs)
	return c
}

// List returns every image, newest first.
func (s *Store) List() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Image, 0, len(s.images))
	for _, img := range s.images {
		out = append(out, copyImage(img))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Get resolves a reference: a name (normalised like docker), a full id
// ("sha256:…") or a unique id prefix of at least 4 hex digits.
func (s *Store) Get(ref string) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.lookup(ref)
	if err != nil {
		return Image{}, err
	}
	return copyImage(img), nil
}

func (s *Store) lookup(ref string) (*Image, error) {
	hex := strings.TrimPrefix(ref, "sha256:")
	if isHexPrefix(hex) {
		var found *Image
		for id, img := range s.images {
			if strings.HasPrefix(id.Encoded(), hex) {
				if found != nil {
					return nil, invalid("image id prefix %q is ambiguous", ref)
				}
				found = img
			}
		}
		if found != nil {
			return found, nil
		}
	}
	name, err := NormalizeRef(ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, errs.NoSuchImage)
	}
	if rd := repoDigestOf(name); rd != "" {
		// name@digest and name:tag@digest: the digest decides, as with docker.
		for _, img := range s.images {
			if slices.Contains(img.RepoDigests, rd) {
				return img, nil
			}
		}
		return nil, fmt.Errorf("image %q: %w", ref, errs.NoSuchImage)
	}
	for _, img := range s.images {
		if slices.Contains(img.RepoTags, name) {
			return img, nil
		}
	}
	return nil, fmt.Errorf("image %q: %w", ref, errs.NoSuchImage)
}

// repoDigestOf returns "repository@digest" for a normalised reference
// that carries a digest (a tag besides it is dropped), else "".
func repoDigestOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	d, ok := n.(reference.Digested)
	if !ok {
		return ""
	}
	return n.Name() + "@" + d.Digest().String()
}

// repoDigest returns "repository@dgst" for the repository of a name.
func repoDigest(name string, dgst digest.Digest) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return n.Name() + "@" + dgst.String()
}

// ConfigOf reads an image's config.
func (s *Store) ConfigOf(ctx context.Context, img Image) (ocispec.Image, error) {
	b, err := cas.ReadVerified(ctx, s.cs, img.Config)
	if err != nil {
		return ocispec.Image{}, err
	}
	var c ocispec.Image
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	return c, nil
}

// DockerConfigOf reads an image's config with docker's extensions
// (Healthcheck, Shell, OnBuild).
func (s *Store) DockerConfigOf(ctx context.Context, img Image) (dockerspec.DockerOCIImage, error) {
	var c dockerspec.DockerOCIImage
	b, err := cas.ReadVerified(ctx, s.cs, img.Config)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	return c, nil
}

// LayerDirs returns the unpacked layers of an image, lowest first.
func (s *Store) LayerDirs(img Image) ([]string, error) {
	var dirs []string
	for _, c := range img.ChainIDs {
		if !s.layers.Has(c) {
			return nil, fmt.Errorf("image %s: layer %s is not unpacked: %w", img.ID.Encoded()[:12], c, errdefs.ErrNotFound)
		}
		dirs = append(dirs, s.layers.Dir(c))
	}
	return dirs, nil
}

// Loaded is one image of a loaded archive.
type Loaded struct {
	ID   digest.Digest
	Tags []string // normalised
}

// Load imports a docker save or OCI-layout archive (gzip or plain). The
// store keeps only what the loaded images reference: the archive's index
// and members no image uses are removed before Load returns, or, while
// other loads or pulls run, when the last of them ends.
// Each loaded image is an image "load" event.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	s.gcMu.RLock()
	loaded, err := s.load(ctx, r)
	if !s.release(ctx, true) && err != nil {
		s.gc(ctx) // what the failed load left, once others are done
	}
	if err != nil {
		return nil, err
	}
	for _, l := range loaded {
		names := make([]string, 0, len(l.Tags))
		for _, t := range l.Tags {
			names = append(names, Familiar(t))
		}
		events.Emit(events.ImageLoaded, "berthd", fmt.Sprintf("image %s loaded %v", short(l.ID), names),
			events.Field{Name: events.FieldImageID, Value: l.ID.String()}, events.Field{Name: events.FieldImageName, Value: strings.Join(names, " ")})
	}
	s.notify()
	return loaded, nil
}

// release ends a load, pull or save (which hold gcMu shared). wrote says
// it may have left unreferenced blobs. If any did and nothing else holds
// gcMu, the store is collected now; release reports whether it was.
func (s *Store) release(ctx context.Context, wrote bool) bool {
	if wrote {
		s.collect.Store(true)
	}
	s.gcMu.RUnlock()
	if !s.collect.Load() || !s.gcMu.TryLock() {
		return false // the holder still running collects when it ends
	}
	defer s.gcMu.Unlock()
	if !s.collect.Swap(false) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(context.WithoutCancel(ctx))
	return true
}

func (s *Store) load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	// docker load takes "docker save | gzip" too.
	ds, err := compression.DecompressStream(r)
	if err != nil {
		return nil, fmt.Errorf("load: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	defer ds.Close()
	rec := &refRecorder{Store: s.cs, refs: map[string]bool{}}
	idx, err := archive.ImportIndex(ctx, rec, ds)
	if err != nil {
		return nil, fmt.Errorf("load: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	b, err := cas.ReadVerified(ctx, s.cs, idx)
	if err != nil {
		return nil, err
	}
	index, err := ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(index.Manifests) == 0 {
		return nil, invalid("load: the archive holds no image")
	}
	// An OCI layout's index names the archive's own manifests, whose
	// digests are the repository digests; for a docker v1 archive
	// (manifest.json only) the importer writes an index and manifests of
	// its own, whose digests no registry knows.
	ownIndex := rec.has("manifest-" + idx.Digest.String())
	type entry struct {
		img           *Image
		tags, digests []string
	}
	var entries []entry
	for _, m := range index.Manifests {
		res, err := resolve(ctx, s.cs, m, s.platform, 0)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		img, err := s.unpack(ctx, res, nil)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		var tags, digests []string
		if name := nameOf(m); name != "" {
			tags = append(tags, name)
			if !ownIndex {
				digests = append(digests, repoDigest(name, m.Digest))
			}
		}
		entries = append(entries, entry{img, tags, digests})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var loaded []Loaded
	for _, e := range entries {
		s.record(e.img, e.tags, e.digests)
		loaded = append(loaded, Loaded{ID: e.img.ID, Tags: e.tags})
	}
	if err := s.save(); err != nil {
		return nil, err
	}
	return loaded, nil
}

// refRecorder remembers the ingest references of the blobs written
// through it.
type refRecorder struct {
	content.Store
	mu   sync.Mutex
	refs map[string]bool
}

func (r *refRecorder) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	var wo content.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	r.refs[wo.Ref] = true
	r.mu.Unlock()
	return r.Store.Writer(ctx, opts...)
}

func (r *refRecorder) has(ref string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refs[ref]
}

// nameOf returns the normalised name an index entry carries, if any.
func nameOf(m ocispec.Descriptor) string {
	for _, key := range []string{ctrimages.AnnotationImageName, ocispec.AnnotationRefName} {
		v := m.Annotations[key]
		if v == "" {
			continue
		}
		n, err := reference.ParseNormalizedNamed(v)
		if err != nil || !strings.Contains(v, "/") && !strings.Contains(v, ":") {
			continue // a bare tag such as "latest" names nothing
		}
		return reference.TagNameOnly(n).String()
	}
	return ""
}

// unpack unpacks the layers of a resolved manifest and returns its record;
// unpacked, if set, is called after each layer (by its digest).
func (s *Store) unpack(ctx context.Context, res resolved, unpacked func(digest.Digest)) (*Image, error) {
	img := &Image{
		ID: res.Manifest.Config.Digest, Manifest: res.Desc, Config: res.Manifest.Config,
		Layers: res.Manifest.Layers, Architecture: res.Config.Architecture, OS: res.Config.OS,
	}
	if res.Config.Created != nil {
		img.Created = res.Config.Created.UTC()
	}
	img.Size = res.Manifest.Config.Size
	for i, l := range res.Manifest.Layers {
		chain := identity.ChainID(res.Config.RootFS.DiffIDs[:i+1])
		if err := s.layers.Unpack(ctx, s.cs, l, res.Config.RootFS.DiffIDs[i], chain); err != nil {
			return nil, err
		}
		img.ChainIDs = append(img.ChainIDs, chain)
		img.Size += l.Size
		if unpacked != nil {
			unpacked(l.Digest)
		}
	}
	return img, nil
}

// record adds img (or merges it with the record of the same id) and moves
// tags and repository digests to it.
func (s *Store) record(img *Image, tags, digests []string) {
	if cur, ok := s.images[img.ID]; ok {
		img.RepoTags = cur.RepoTags
		img.RepoDigests = cur.RepoDigests
	}
	s.images[img.ID] = img
	move := func(names []string, field func(*Image) *[]string) {
		for _, t := range names {
			for _, other := range s.images {
				if other != img {
					*field(other) = slices.DeleteFunc(*field(other), func(x string) bool { return x == t })
				}
			}
			if !slices.Contains(*field(img), t) {
				*field(img) = append(*field(img), t)
			}
		}
		sort.Strings(*field(img))
	}
	move(tags, func(i *Image) *[]string { return &i.RepoTags })
	move(digests, func(i *Image) *[]string { return &i.RepoDigests })
}

// Tag gives the image ref the name target (moved from any other image).
func (s *Store) Tag(ref, target string) (Image, error) {
	img, err := s.tag(ref, target)
	if err == nil {
		s.notify()
	}
	return img, err
}

func (s *Store) tag(ref, target string) (Image, error) {
	name, err := NormalizeRef(target)
	if err != nil {
		return Image{}, err
	}
	if strings.Contains(name, "@") {
		return Image{}, invalid("tag %q: a digest is not a tag", target)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.lookup(ref)
	if err != nil {
		return Image{}, err
	}
	s.record(img, []string{name}, nil)
	if err := s.save(); err != nil {
		return Image{}, err
	}
	events.Emit(events.ImageTagged, "berthd", fmt.Sprintf("image %s tagged %s", short(img.ID), Familiar(name)),
		events.Field{Name: events.FieldImageID, Value: img.ID.String()}, events.Field{Name: events.FieldImageName, Value: Familiar(name)})
	return copyImage(img), nil
}

// Removed says what Remove did.
type Removed struct {
	Untagged []string
	Deleted  digest.Digest // empty when only a tag went
}

// Remove untags ref if it is a name the image has besides others, or
// removes the image. An image a container uses is kept unless force. The
// removal of an image is an image "remove" event.
func (s *Store) Remove(ctx context.Context, ref string, force bool) (Removed, error) {
	out, collect, err := s.remove(ref, force)
	if err != nil {
		return out, err
	}
	if collect {
		s.gc(ctx)
	}
	s.removed(out)
	return out, nil
}

// removed emits the event of a removal and tells OnChange.
func (s *Store) removed(r Removed) {
	if r.Deleted != "" {
		untagged(r.Deleted, r.Untagged)
		events.Emit(events.ImageRemoved, "berthd", "image "+short(r.Deleted)+" removed", events.Field{Name: events.FieldImageID, Value: r.Deleted.String()})
	}
	s.notify()
}

// untagged emits an image "untag" event for each name taken from the
// image id.
func untagged(id digest.Digest, names []string) {
	for _, n := range names {
		events.Emit(events.ImageUntagged, "berthd", fmt.Sprintf("image %s untagged %s", short(id), Familiar(n)),
			events.Field{Name: events.FieldImageID, Value: id.String()}, events.Field{Name: events.FieldImageName, Value: Familiar(n)})
	}
}

// Untag removes the name ref (a tag or a repository digest) from its
// image, even if it is the image's last: the image stays, dangling. A
// reference by id is not a name (errdefs.ErrInvalidArgument).
func (s *Store) Untag(ref string) (Removed, error) {
	out, err := s.untag(ref)
	if err == nil {
		s.notify()
	}
	return out, err
}

func (s *Store) untag(ref string) (Removed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.lookup(ref)
	if err != nil {
		return Removed{}, err
	}
	name, err := NormalizeRef(ref)
	if err != nil {
		return Removed{}, err
	}
	var out Removed
	switch rd := repoDigestOf(name); {
	case slices.Contains(img.RepoTags, name):
		img.RepoTags = slices.DeleteFunc(img.RepoTags, func(x string) bool { return x == name })
		out.Untagged = []string{name}
	case rd != "" && slices.Contains(img.RepoDigests, rd):
		img.RepoDigests = slices.DeleteFunc(img.RepoDigests, func(x string) bool { return x == rd })
		out.Untagged = []string{rd}
	default:
		return Removed{}, invalid("untag %s: not a name of image %s", ref, short(img.ID))
	}
	if err := s.save(); err != nil {
		return out, err
	}
	untagged(img.ID, out.Untagged)
	return out, nil
}

func (s *Store) remove(ref string, force bool) (out Removed, collect bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.lookup(ref)
	if err != nil {
		return out, false, err
	}
	name, nerr := NormalizeRef(ref)
	byName := nerr == nil && slices.Contains(img.RepoTags, name)
	if byName && len(img.RepoTags) > 1 {
		img.RepoTags = slices.DeleteFunc(img.RepoTags, func(x string) bool { return x == name })
		out.Untagged = []string{name}
		if err := s.save(); err != nil {
			return out, false, err
		}
		untagged(img.ID, out.Untagged)
		return out, false, nil
	}
	// A repository digest goes alone while the image has other names.
	if rd := repoDigestOf(name); nerr == nil && rd != "" && len(img.RepoTags)+len(img.RepoDigests) > 1 {
		img.RepoDigests = slices.DeleteFunc(img.RepoDigests, func(x string) bool { return x == rd })
		out.Untagged = []string{rd}
		if err := s.save(); err != nil {
			return out, false, err
		}
		untagged(img.ID, out.Untagged)
		return out, false, nil
	}
	if !byName && len(img.RepoTags) > 1 && !force {
		return out, false, fmt.Errorf("image %s has %d names (%s); remove them one by one, or force: %w",
			ref, len(img.RepoTags), strings.Join(img.RepoTags, ", "), errdefs.ErrConflict)
	}
	if s.inUse(img.ID) && !force {
		return out, false, fmt.Errorf("image %s (%s) is used by a container; remove the container first or force: %w",
			ref, img.ID.Encoded()[:12], errdefs.ErrConflict)
	}
	out.Untagged = append(slices.Clone(img.RepoTags), img.RepoDigests...)
	out.Deleted = img.ID
	delete(s.images, img.ID)
	if err := s.save(); err != nil {
		return Removed{}, false, err
	}
	return out, !s.inUse(img.ID), nil
}

// Pruned says what Prune removed.
type Pruned struct {
	Blobs, Layers int
	Bytes         int64
}

// Prune removes blobs and unpacked layers that no image uses.
func (s *Store) Prune(ctx context.Context) (Pruned, error) {
	return s.gc(ctx), nil
}

// RemoveUnused removes every image that no container uses and that match
// selects (docker's image prune), then what only they used; it returns
// what was removed (names and ids), and what was collected. match is
// called without locks held and may read images' configs.
func (s *Store) RemoveUnused(ctx context.Context, match func(Image) bool) ([]Removed, Pruned, error) {
	var out []Removed
	for _, img := range s.List() {
		if s.inUse(img.ID) || !match(img) {
			continue
		}
		r, err := s.removeUnused(img.ID)
		if err != nil {
			return out, Pruned{}, err
		}
		if r.Deleted != "" {
			out = append(out, r)
		}
	}
	p := s.gc(ctx)
	for _, r := range out {
		s.removed(r)
	}
	return out, p, nil
}

// removeUnused removes the image id unless a container uses it (checked
// again under the lock) or it is gone already.
func (s *Store) removeUnused(id digest.Digest) (Removed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[id]
	if !ok || s.inUse(id) {
		return Removed{}, nil
	}
	r := Removed{Untagged: append(slices.Clone(img.RepoTags), img.RepoDigests...), Deleted: id}
	delete(s.images, id)
	if err := s.save(); err != nil {
		s.images[id] = img
		return Removed{}, err
	}
	return r, nil
}

// gc waits for loads, pulls and saves in progress, then collects.
func (s *Store) gc(ctx context.Context) Pruned {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	s.collect.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gcLocked(ctx)
}

// gcLocked removes blobs and layers no recorded image references. Layers
// of removed images that a container still uses stay while in use.
func (s *Store) gcLocked(ctx context.Context) Pruned {
	keepBlobs := map[digest.Digest]bool{}
	keepLayers := map[string]bool{}
	for _, img := range s.images {
		keepBlobs[img.Manifest.Digest] = true
		keepBlobs[img.Config.Digest] = true
		for _, l := range img.Layers {
			keepBlobs[l.Digest] = true
		}
		for _, c := range img.ChainIDs {
			keepLayers[c.Encoded()] = true
		}
	}
	var p Pruned
	// No load or pull runs (gcMu is held exclusively): an ingest still
	// there is what a failed one left (a truncated archive's blob).
	if sts, err := s.cs.ListStatuses(ctx); err == nil {
		for _, st := range sts {
			s.cs.Abort(ctx, st.Ref)
		}
	}
	s.cs.Walk(ctx, func(info content.Info) error {
		if keepBlobs[info.Digest] {
			return nil
		}
		if s.cs.Delete(ctx, info.Digest) == nil {
			p.Blobs++
			p.Bytes += info.Size
		}
		return nil
	})
	ents, _ := os.ReadDir(s.layers.root)
	for _, e := range ents {
		if keepLayers[e.Name()] || (!strings.HasPrefix(e.Name(), ".unpack-") && s.layerInUse(e.Name())) {
			continue
		}
		if os.RemoveAll(filepath.Join(s.layers.root, e.Name())) == nil {
			p.Layers++
		}
	}
	return p
}

// layerInUse asks whether a container still uses a chain id (a removed
// image forced away from under a container keeps its layers).
func (s *Store) layerInUse(hex string) bool {
	if s.LayerUser == nil {
		return false
	}
	return s.LayerUser(hex)
}

// Save writes the images refs name as one archive that both docker load
// and OCI tools read (an OCI layout with docker's manifest.json), with
// their names.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string) error {
	if len(refs) == 0 {
		return invalid("save: no image given")
	}
	s.gcMu.RLock()
	defer s.release(ctx, false)
	var opts []archive.ExportOpt
	s.mu.Lock()
	for _, ref := range refs {
		img, err := s.lookup(ref)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		var names []string
		if n, err := NormalizeRef(ref); err == nil && slices.Contains(img.RepoTags, n) {
			names = []string{n}
		} else if !strings.HasPrefix(ref, "sha256:") && !isHexPrefix(ref) {
			names = img.RepoTags
		}
		opts = append(opts, archive.WithManifest(img.Manifest, names...))
	}
	s.mu.Unlock()
	opts = append(opts, archive.WithPlatform(s.platform))
	return archive.Export(ctx, s.cs, w, opts...)
}

// isHexPrefix reports whether s can be an image id prefix.
func isHexPrefix(s string) bool {
	return len(s) >= 4 && len(s) <= 64 && strings.Trim(s, "0123456789abcdef") == ""
}
