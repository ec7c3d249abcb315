package lifecycle

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berthd/berth/events"
	"github.com/berthd/berth/images"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// CommitOptions tune Commit, as the query of docker's POST /commit.
type CommitOptions struct {
	// Reference is the new image's REPO[:TAG]; "" leaves it untagged.
	Reference string
	Author    string
	Comment   string
	// Changes are Dockerfile instructions applied to the new image's
	// config, as docker commit --change: CMD, ENTRYPOINT, ENV, EXPOSE,
	// LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR.
	Changes []string
	// Pause pauses a running container for the commit and unpauses it
	// after (docker's default; an edge sets it unless told otherwise).
	Pause bool
}

// Commit makes a new image of container ref: its image's layers and one
// more, the changes in its own layer (the overlay's upper directory, with
// overlay whiteouts as OCI whiteouts; what its mounts hide and the mount
// points berth makes are left out, as docker leaves volumes out), and a
// config from the container's (Env, Cmd, Entrypoint, WorkingDir, User,
// Labels, StopSignal; the image's ExposedPorts and Volumes) with
// o.Changes applied and a history entry. It returns the image id. Any
// state but restarting and dead; a container made with --rootfs has no
// image and is refused (FailedPrecondition). Errors: errs.NoSuchContainer,
// errs.NoSuchImage when its image is gone, InvalidArgument naming a bad
// change or reference; nothing is recorded and no blob kept on error.
func (m *Manager) Commit(ctx context.Context, ref string, o CommitOptions) (string, error) {
	if m.images == nil {
		return "", fmt.Errorf("images are not available: %w", errdefs.ErrNotImplemented)
	}
	c, err := m.lookup(ref)
	if err != nil {
		return "", err
	}
	var tag string
	if o.Reference != "" {
		if tag, err = images.NormalizeRef(o.Reference); err != nil {
			return "", err
		}
		if strings.Contains(tag, "@") {
			return "", fmt.Errorf("reference %q: a digest is not a tag: %w", o.Reference, errdefs.ErrInvalidArgument)
		}
	}
	if err := c.lockIdle(ctx); err != nil {
		return "", err
	}
	info := c.info()
	if err := Check(info.State, OpCommit); err != nil {
		c.mu.Unlock()
		return "", fmt.Errorf("container %s: %w", info.Name, err)
	}
	if info.Spec.ImageID == "" {
		c.mu.Unlock()
		return "", fmt.Errorf("container %s has no image (it runs on the directory %s given with --rootfs): commit adds a layer to an image: %w",
			info.Name, info.Spec.Rootfs, errdefs.ErrFailedPrecondition)
	}
	live := info.State.Live()
	if !live {
		c.begin(OpCommit) // a start waits: the layer does not change meanwhile
	}
	c.mu.Unlock()
	if !live {
		defer c.release()
	}
	base, err := m.images.Get(info.Spec.ImageID)
	if err != nil {
		return "", fmt.Errorf("container %s: its image: %w", info.Name, err)
	}
	baseCfg, err := m.images.DockerConfigOf(ctx, base)
	if err != nil {
		return "", fmt.Errorf("container %s: its image: %w", info.Name, err)
	}
	cfg, err := commitConfig(baseCfg, info.Spec, o, time.Now().UTC())
	if err != nil {
		return "", err
	}
	if info.State == Running && o.Pause {
		if err := m.Pause(ctx, info.ID); err != nil {
			return "", err
		}
		defer func() {
			if err := m.Unpause(context.WithoutCancel(ctx), info.ID); err != nil {
				m.log.Error("cannot unpause a container after its commit", "container", info.ID, "err", err)
			}
		}()
	}
	pr, pw := io.Pipe()
	diffDone := make(chan struct{})
	go func() {
		defer close(diffDone)
		pw.CloseWithError(writeDiff(ctx, pw, m.containerDir(info.ID), info.Spec))
	}()
	img, err := m.images.Commit(ctx, base, pr, cfg, tag)
	pr.CloseWithError(io.ErrClosedPipe) // ends writeDiff if Commit stopped early
	<-diffDone                          // and its mount is gone
	if err != nil {
		return "", fmt.Errorf("container %s: %w", info.Name, err)
	}
	m.event(events.Committed, info, events.Field{Name: events.FieldImageID, Value: img.ID.String()},
		events.Field{Name: events.FieldImageName, Value: tag})
	return img.ID.String(), nil
}

// commitConfig is the new image's config (docker's): base's, the
// container's settings from spec (its healthcheck included, as docker's
// commit keeps it), the changes, and a history entry.
func commitConfig(base dockerspec.DockerOCIImage, spec Spec, o CommitOptions, now time.Time) (dockerspec.DockerOCIImage, error) {
	cfg := dockerspec.DockerOCIImage{Image: ocispecs.Image{Created: &now, Author: o.Author, Platform: base.Platform}, Config: base.Config}
	if spec.Healthcheck != nil {
		hc := *spec.Healthcheck
		hc.Test = slices.Clone(spec.Healthcheck.Test)
		cfg.Config.Healthcheck = &hc
	}
	c := &cfg.Config.ImageConfig
	c.Env = slices.Clone(spec.Env)
	c.Entrypoint = slices.Clone(spec.Entrypoint)
	c.Cmd = slices.Clone(spec.Cmd)
	c.WorkingDir = spec.Workdir
	c.User = spec.User
	c.StopSignal = spec.StopSignal
	c.Labels = maps.Clone(spec.Labels)
	c.ExposedPorts = maps.Clone(base.Config.ExposedPorts)
	c.Volumes = maps.Clone(base.Config.Volumes)
	if err := applyChanges(c, o.Changes); err != nil {
		return cfg, err
	}
	cfg.History = append(slices.Clone(base.History), ocispecs.History{
		Created: &now, Author: o.Author, Comment: o.Comment,
		CreatedBy: strings.Join(append(slices.Clone(spec.Entrypoint), spec.Cmd...), " "),
	})
	return cfg, nil
}

// commitInstructions are the Dockerfile instructions a commit takes.
const commitInstructions = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"

// applyChanges applies docker commit's --change instructions to c, in
// order, parsed as a Dockerfile is (buildkit's parser: JSON and shell
// forms, quotes, $VAR from the environment so far). An instruction it
// does not take, or a bad argument, is InvalidArgument naming the change.
func applyChanges(c *ocispecs.ImageConfig, changes []string) error {
	cmdSet := false
	for _, ch := range changes {
		res, err := parser.Parse(strings.NewReader(ch))
		if err != nil {
			return fmt.Errorf("change %q: %v: %w", ch, err, errdefs.ErrInvalidArgument)
		}
		for _, n := range res.AST.Children {
			if err := applyChange(c, n, &cmdSet); err != nil {
				if errdefs.IsInvalidArgument(err) {
					return fmt.Errorf("change %q: %w", ch, err)
				}
				return fmt.Errorf("change %q: %v: %w", ch, err, errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

func applyChange(c *ocispecs.ImageConfig, n *parser.Node, cmdSet *bool) error {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	name := strings.ToUpper(n.Value)
	lex := shell.NewLex(parser.DefaultEscapeToken)
	word := func(s string) (string, error) {
		w, _, err := lex.ProcessWord(s, shell.EnvsFromSlice(c.Env))
		return w, err
	}
	command := func() ([]string, error) {
		if len(args) == 0 || len(args) == 1 && args[0] == "" && !n.Attributes["json"] {
			return nil, fmt.Errorf("%s needs a command", name)
		}
		if n.Attributes["json"] {
			return args, nil
		}
		return []string{"/bin/sh", "-c", args[0]}, nil
	}
	one := func() (string, error) {
		if len(args) != 1 || args[0] == "" {
			return "", fmt.Errorf("%s takes one argument", name)
		}
		return word(args[0])
	}
	switch name {
	case "CMD":
		cmd, err := command()
		if err != nil {
			return err
		}
		c.Cmd, *cmdSet = cmd, true
	case "ENTRYPOINT":
		ep, err := command()
		if err != nil {
			return err
		}
		c.Entrypoint = ep
		if !*cmdSet {
			c.Cmd = nil // as in a Dockerfile: the base's command goes with its entrypoint
		}
	case "ENV", "LABEL":
		if len(args) < 3 || len(args)%3 != 0 {
			return fmt.Errorf("%s needs NAME=VALUE pairs", name)
		}
		for i := 0; i < len(args); i += 3 {
			k, err := word(args[i])
			if err != nil {
				return err
			}
			v, err := word(args[i+1])
			if err != nil {
				return err
			}
			if k == "" {
				return fmt.Errorf("%s: empty name", name)
			}
			if name == "ENV" {
				c.Env = mergeEnv(c.Env, []string{k + "=" + v})
			} else {
				if c.Labels == nil {
					c.Labels = map[string]string{}
				}
				c.Labels[k] = v
			}
		}
	case "WORKDIR":
		w, err := one()
		if err != nil {
			return err
		}
		if !filepath.IsAbs(w) {
			w = filepath.Join("/", c.WorkingDir, w)
		}
		c.WorkingDir = filepath.Clean(w)
	case "USER":
		u, err := one()
		if err != nil {
			return err
		}
		c.User = u
	case "STOPSIGNAL":
		s, err := one()
		if err != nil {
			return err
		}
		if _, err := ParseSignal(s); err != nil {
			return err
		}
		c.StopSignal = s
	case "EXPOSE":
		if len(args) == 0 {
			return fmt.Errorf("EXPOSE needs a port")
		}
		for _, a := range args {
			p, err := word(a)
			if err != nil {
				return err
			}
			ports, err := exposedPorts(p)
			if err != nil {
				return err
			}
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			for _, port := range ports {
				c.ExposedPorts[port] = struct{}{}
			}
		}
	case "VOLUME":
		if len(args) == 0 || len(args) == 1 && args[0] == "" {
			return fmt.Errorf("VOLUME needs a path")
		}
		for _, a := range args {
			p, err := word(a)
			if err != nil {
				return err
			}
			if p == "" {
				return fmt.Errorf("VOLUME: empty path")
			}
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			c.Volumes[p] = struct{}{}
		}
	default:
		return fmt.Errorf("%s is not an instruction commit takes (%s)", name, commitInstructions)
	}
	return nil
}

// exposedPorts reads EXPOSE's PORT[-END][/PROTO] (tcp when none) into
// the image config's keys.
func exposedPorts(s string) ([]string, error) {
	spec, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("EXPOSE %q: protocol %q: want tcp, udp or sctp", s, proto)
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	if !isRange {
		hi = lo
	}
	first, err1 := strconv.ParseUint(lo, 10, 16)
	last, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || first == 0 || last < first {
		return nil, fmt.Errorf("EXPOSE %q: want a port (1-65535) or a range of them", s)
	}
	var out []string
	for p := first; p <= last; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}

// writeDiff writes the container's own layer as an OCI layer tar: the
// changes in its overlay's upper directory against its image's layers
// (continuity's overlay diff: whiteout devices and opaque directories
// become ".wh." entries). Mount points and what is under them are left
// out: the runtime's (/proc, /sys, /dev), the container's /etc files,
// --init's binary and the container's mounts (runc makes their targets
// in the upper directory when the image lacks them).
func writeDiff(ctx context.Context, w io.Writer, containerDir string, spec Spec) error {
	upper := filepath.Join(containerDir, "upper")
	base, done, err := baseView(containerDir, spec.Layers)
	if err != nil {
		return err
	}
	defer done()
	skip := ownPaths(spec)
	cw := archive.NewChangeWriter(w, upper)
	err = fs.DiffDirChanges(ctx, base, upper, fs.DiffSourceOverlayFS, func(k fs.ChangeKind, p string, f os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if p == s || strings.HasPrefix(p, s+"/") {
				return nil
			}
		}
		return cw.HandleChange(k, p, f, err)
	})
	if err != nil {
		return err
	}
	return cw.Close()
}

// baseView gives the merged tree of the image's layers, which the diff
// compares with: the layer itself for one, else a read-only overlay of
// them mounted under containerDir until done.
func baseView(containerDir string, layers []string) (string, func(), error) {
	if len(layers) == 1 {
		return layers[0], func() {}, nil
	}
	dir, err := os.MkdirTemp(containerDir, "commit-base-")
	if err != nil {
		return "", nil, err
	}
	lower := slices.Clone(layers)
	slices.Reverse(lower) // overlay lists the top layer first
	mnt := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + strings.Join(lower, ":")}}
	if err := mnt.Mount(dir); err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("mount the image's layers: %w", err)
	}
	return dir, func() {
		mount.UnmountAll(dir, unix.MNT_DETACH)
		os.Remove(dir)
	}, nil
}
