package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// applyImage resolves spec.Image and fills in what its config gives, as
// docker does: entrypoint, command (unless given), environment (given
// entries win by name), working directory, user, stop signal and VOLUME
// entries.
func (m *Manager) applyImage(ctx context.Context, spec *Spec) error {
	if m.images == nil {
		return fmt.Errorf("images are not available: %w", errdefs.ErrNotImplemented)
	}
	img, err := m.images.Get(spec.Image)
	if err != nil {
		return err
	}
	cfg, err := m.images.DockerConfigOf(ctx, img)
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Image, err)
	}
	dirs, err := m.images.LayerDirs(img)
	if err != nil {
		return err
	}
	spec.ImageID = img.ID.String()
	spec.Layers = dirs
	mergeImageConfig(spec, cfg.Config.ImageConfig)
	mergeHealthcheck(spec, cfg.Config.Healthcheck)
	// The healthcheck that will run, the image's HEALTHCHECK merged in, is
	// held to the same bounds as one given (an interval of nanoseconds
	// would run checks back to back); --no-healthcheck or options that
	// override the image's bad values make it fine.
	if cfg.Config.Healthcheck != nil && spec.HasHealthcheck() {
		if err := CheckHealthcheck(spec.Healthcheck, ""); err != nil {
			return fmt.Errorf("image %s: its HEALTHCHECK, with the options given: %w", spec.Image, err)
		}
	}
	return nil
}

// mergeImageConfig fills in what the image's config c gives, as docker's
// merge does.
func mergeImageConfig(spec *Spec, c ocispecs.ImageConfig) {
	// Docker's merge: an entrypoint given (even --entrypoint '', sent as
	// [""]) drops the image's command too; an empty list keeps it.
	if len(spec.Entrypoint) == 0 {
		if len(spec.Cmd) == 0 {
			spec.Cmd = c.Cmd
		}
		if spec.Entrypoint == nil {
			spec.Entrypoint = c.Entrypoint
		}
	}
	if len(c.Labels) > 0 {
		labels := maps.Clone(c.Labels)
		maps.Copy(labels, spec.Labels) // the container's win
		spec.Labels = labels
	}
	spec.Env = mergeEnv(c.Env, spec.Env)
	if spec.Workdir == "" {
		spec.Workdir = c.WorkingDir
	}
	if spec.User == "" {
		spec.User = c.User
	}
	if spec.StopSignal == "" {
		spec.StopSignal = c.StopSignal
	}
	// VOLUME entries become anonymous volumes unless a mount of the
	// user's covers them.
	spec.Volumes = slices.Sorted(maps.Keys(c.Volumes))
	// EXPOSE entries join the container's exposed ports (docker's -P
	// publishes them).
	for p := range c.ExposedPorts {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		if !slices.Contains(spec.ExposedPorts, p) {
			spec.ExposedPorts = append(spec.ExposedPorts, p)
		}
	}
	slices.Sort(spec.ExposedPorts)
}

// mergeEnv returns base with each entry of over replacing the one of the
// same name, or added; an entry of over without "=" removes the variable
// (docker's rule: "a variable without = is removed from the
// environment").
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, set := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { n, _, _ := strings.Cut(e, "="); return n == k })
		switch {
		case !set && i >= 0:
			out = slices.Delete(out, i, i+1)
		case !set:
		case i >= 0:
			out[i] = kv
		default:
			out = append(out, kv)
		}
	}
	return out
}

// rootfsDir is where an image container's overlay is mounted.
func rootfsDir(containerDir string) string { return filepath.Join(containerDir, "rootfs") }

// mountRootfs mounts the overlay of layers (lowest first) with the
// container's own upper and work directories at containerDir/rootfs,
// unless it is mounted already.
//
// The layers are named through short symbolic links, containerDir/lower/N
// (N counting from 0 for the lowest layer), which containerd's mount
// package shortens further to "N" relative to containerDir/lower when the
// options near a page: an image of a few hundred layers then fits the
// one page the kernel takes, where the layers' own paths (about 90 bytes
// each) would not pass 42 layers. Overlay resolves the links when it
// mounts.
func mountRootfs(containerDir string, layers []string) error {
	target := rootfsDir(containerDir)
	upper, work, lowerDir := filepath.Join(containerDir, "upper"), filepath.Join(containerDir, "work"), filepath.Join(containerDir, "lower")
	for _, d := range []string{target, upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if ok, err := mountinfo.Mounted(target); err == nil && ok {
		return nil
	}
	if len(layers) == 0 {
		return fmt.Errorf("image has no layers: %w", errdefs.ErrInvalidArgument)
	}
	if err := os.RemoveAll(lowerDir); err != nil {
		return err
	}
	if err := os.Mkdir(lowerDir, 0o700); err != nil {
		return err
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		if _, err := os.Stat(l); err != nil {
			return fmt.Errorf("image layer %s: %w", l, err)
		}
		link := filepath.Join(lowerDir, strconv.Itoa(i))
		if err := os.Symlink(l, link); err != nil {
			return err
		}
		lower[len(layers)-1-i] = link // overlay lists the top layer first
	}
	m := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + strings.Join(lower, ":"), "upperdir=" + upper, "workdir=" + work,
	}}
	if err := m.Mount(target); err != nil {
		return fmt.Errorf("mount the root file system (%d layers): %w", len(layers), err)
	}
	return nil
}

// unmountRootfs unmounts containerDir/rootfs if it is mounted.
func unmountRootfs(containerDir string) error {
	target := rootfsDir(containerDir)
	if err := mount.UnmountAll(target, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// ImageInUse reports whether a container was made from image id.
func (m *Manager) ImageInUse(id digest.Digest) bool {
	for _, i := range m.List() {
		if i.Spec.ImageID == id.String() {
			return true
		}
	}
	return false
}

// LayerInUse reports whether a container's root file system uses the
// unpacked layer with this chain id (hex).
func (m *Manager) LayerInUse(chainHex string) bool {
	for _, i := range m.List() {
		for _, l := range i.Spec.Layers {
			if filepath.Base(filepath.Dir(l)) == chainHex {
				return true
			}
		}
	}
	return false
}
