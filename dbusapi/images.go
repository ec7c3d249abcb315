package dbusapi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/images"
	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
	ocispecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image objects.
const (
	ImageInterface = contract.ImageInterface
	imagePrefix    = "/io/berth/Engine1/image/"
)

// ImagePath is the object path of an image (by the hex of its id).
func ImagePath(id string) dbus.ObjectPath {
	return dbus.ObjectPath(imagePrefix + sd.PathBusEscape(strings.TrimPrefix(id, "sha256:")))
}

// familiar turns normalised names into the short forms users type
// ("busybox:latest"); never nil, so that an empty list marshals as one.
func familiar(names []string) []string {
	out := []string{}
	for _, n := range names {
		out = append(out, images.Familiar(n))
	}
	return out
}

func imageProps(img images.Image) map[string]any {
	return map[string]any{
		"Id":           img.ID.String(),
		"RepoTags":     familiar(img.RepoTags),
		"RepoDigests":  familiar(img.RepoDigests),
		"Size":         uint64(img.Size),
		"Created":      micros(img.Created),
		"Architecture": img.Architecture,
	}
}

// syncImages makes the exported image objects match the store and emits
// ImageNew / ImageRemoved; it runs after every change of the store,
// whichever edge made it (images.Store.OnChange).
func (s *Server) syncImages() {
	if s.images == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, img := range s.images.List() {
		id := img.ID.String()
		seen[id] = true
		props := imageProps(img)
		if p, ok := s.imageObjs[id]; ok {
			for k, v := range props {
				if cur, err := p.Get(ImageInterface, k); err == nil && fmt.Sprint(cur.Value()) == fmt.Sprint(v) {
					continue
				}
				p.SetMust(ImageInterface, k, v)
			}
			continue
		}
		pm := prop.Map{ImageInterface: {}}
		for k, v := range props {
			pm[ImageInterface][k] = &prop.Prop{Value: v, Emit: prop.EmitTrue}
		}
		path := ImagePath(id)
		p, err := prop.Export(s.conn, path, pm)
		if err != nil {
			s.log.Error("cannot export image", "image", id, "err", err)
			continue
		}
		s.conn.Export(introspectable{iface: ImageInterface}, path, "org.freedesktop.DBus.Introspectable")
		s.imageObjs[id] = p
		s.conn.Emit(ManagerPath, ManagerInterface+".ImageNew", id, path)
	}
	for id := range s.imageObjs {
		if seen[id] {
			continue
		}
		path := ImagePath(id)
		delete(s.imageObjs, id)
		s.conn.Export(nil, path, "org.freedesktop.DBus.Properties")
		s.conn.Export(nil, path, "org.freedesktop.DBus.Introspectable")
		s.conn.Emit(ManagerPath, ManagerInterface+".ImageRemoved", id, path)
	}
}

func (s *Server) imageIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.imageObjs {
		ids = append(ids, strings.TrimPrefix(string(ImagePath(id)), imagePrefix))
	}
	return ids
}

// ImageEntry is one row of ListImages.
type ImageEntry = contract.ImageEntry

func (m *manager) needImages() error {
	if m.s.images == nil {
		return fmt.Errorf("images are not available: %w", errdefs.ErrNotImplemented)
	}
	return nil
}

func (m *manager) ListImages(options map[string]dbus.Variant) ([]ImageEntry, *dbus.Error) {
	defer m.s.act.Begin()()
	if err := m.needImages(); err != nil {
		return nil, ToDBus(err)
	}
	if err := knownOptions("ListImages", options); err != nil {
		return nil, ToDBus(err)
	}
	out := []ImageEntry{}
	for _, img := range m.s.images.List() {
		out = append(out, ImageEntry{ID: img.ID.String(), RepoTags: familiar(img.RepoTags), RepoDigests: familiar(img.RepoDigests), Created: micros(img.Created),
			Size: uint64(img.Size), Architecture: img.Architecture, Path: ImagePath(img.ID.String())})
	}
	return out, nil
}

func (m *manager) GetImage(ref string) (dbus.ObjectPath, *dbus.Error) {
	defer m.s.act.Begin()()
	if err := m.needImages(); err != nil {
		return "", ToDBus(err)
	}
	img, err := m.s.images.Get(ref)
	if err != nil {
		return "", ToDBus(err)
	}
	return ImagePath(img.ID.String()), nil
}

func (m *manager) InspectImage(sender dbus.Sender, ref string) (out string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		img, err := m.s.images.Get(ref)
		if err != nil {
			return err
		}
		cfg, err := m.s.images.DockerConfigOf(ctx, img) // docker's: Healthcheck, Shell, OnBuild too
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(map[string]any{
			"Id": img.ID.String(), "RepoTags": familiar(img.RepoTags), "RepoDigests": familiar(img.RepoDigests), "Created": img.Created, "Architecture": img.Architecture,
			"Os": img.OS, "Size": img.Size, "Config": cfg.Config, "RootFS": rootFSView(cfg.RootFS),
			"Manifest": img.Manifest.Digest.String(), "ManifestMediaType": img.Manifest.MediaType,
			"ObjectPath": ImagePath(img.ID.String()),
		}, "", "  ")
		out = string(b)
		return err
	})
	return
}

// rootFSView is an image's RootFS in docker's inspect shape: Type and
// Layers (the OCI config spells them type and diff_ids).
func rootFSView(r ocispecv1.RootFS) map[string]any {
	layers := make([]string, 0, len(r.DiffIDs))
	for _, d := range r.DiffIDs {
		layers = append(layers, d.String())
	}
	return map[string]any{"Type": r.Type, "Layers": layers}
}

// LoadedImage is one row of LoadImage's answer.
type LoadedImage = contract.LoadedImage

func (m *manager) LoadImage(sender dbus.Sender, archive dbus.UnixFD, options map[string]dbus.Variant) (loaded []LoadedImage, derr *dbus.Error) {
	f := os.NewFile(uintptr(archive), "image-archive")
	defer f.Close()
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		if err := knownOptions("LoadImage", options); err != nil {
			return err
		}
		res, err := m.s.images.Load(ctx, f)
		if err != nil {
			return err
		}
		loaded = []LoadedImage{}
		for _, l := range res {
			loaded = append(loaded, LoadedImage{ID: l.ID.String(), Tags: familiar(l.Tags)})
		}
		return nil
	})
	return
}

func (m *manager) TagImage(sender dbus.Sender, ref, target string) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		_, err := m.s.images.Tag(ref, target)
		return err
	})
}

func (m *manager) RemoveImage(sender dbus.Sender, ref string, options map[string]dbus.Variant) (untagged []string, deleted string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		if err := knownOptions("RemoveImage", options, "force"); err != nil {
			return err
		}
		force, err := optBool(options, "force", false)
		if err != nil {
			return err
		}
		r, err := m.s.images.Remove(ctx, ref, force)
		if err != nil {
			return err
		}
		untagged = familiar(r.Untagged)
		deleted = r.Deleted.String()
		return nil
	})
	return
}

func (m *manager) PruneImages(sender dbus.Sender, options map[string]dbus.Variant) (blobs, layers uint32, bytes uint64, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		if err := knownOptions("PruneImages", options); err != nil {
			return err
		}
		p, err := m.s.images.Prune(ctx)
		blobs, layers, bytes = uint32(p.Blobs), uint32(p.Layers), uint64(p.Bytes)
		return err
	})
	return
}

func (m *manager) SaveImage(sender dbus.Sender, refs []string, archive dbus.UnixFD, options map[string]dbus.Variant) *dbus.Error {
	f := os.NewFile(uintptr(archive), "image-archive")
	defer f.Close()
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		if err := knownOptions("SaveImage", options); err != nil {
			return err
		}
		return m.s.images.Save(ctx, f, refs)
	})
}

func (m *manager) PullImage(sender dbus.Sender, ref string, options map[string]dbus.Variant) (id string, tags []string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, snap *config.Snapshot) error {
		if err := m.needImages(); err != nil {
			return err
		}
		pullID, err := optString(options, "pull_id")
		if err != nil {
			return err
		}
		if err := knownOptions("PullImage", options, "pull_id"); err != nil {
			return err
		}
		o := images.PullOptions{Registries: images.Registries(snap.Registries)}
		if pullID != "" {
			o.Progress = func(p images.Progress) {
				m.s.conn.Emit(ManagerPath, ManagerInterface+".ImagePullProgress", pullID,
					uint64(p.Done), uint64(p.Total), uint32(p.Blobs), uint32(p.BlobsTotal))
			}
		}
		img, err := m.s.images.Pull(ctx, ref, o)
		if err != nil {
			return err
		}
		id = img.ID.String()
		tags = []string{}
		if name, err := images.NormalizeRef(ref); err == nil && !strings.Contains(name, "@") {
			tags = append(tags, images.Familiar(name)) // the name pulled first
		}
		for _, t := range img.RepoTags {
			if f := images.Familiar(t); len(tags) == 0 || f != tags[0] {
				tags = append(tags, f)
			}
		}
		return nil
	})
	return
}
