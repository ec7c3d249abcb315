package engineapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/moby/moby/api/types/build"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/cas"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/storage"
	"github.com/opencontainers/go-digest"
)

// imageRoutes registers the image endpoints. Image names hold slashes
// (127.0.0.1:5000/test/busybox), so GET, POST and DELETE on
// /images/{name...} are taken apart by their last element.
func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.imageList)
	s.handle("POST /images/create", s.imageCreate)
	s.handle("POST /images/load", s.imageLoad)
	s.handle("GET /images/get", s.imageSaveMany)
	s.handle("POST /images/prune", s.imagePrune)
	s.handle("GET /images/{rest...}", s.imageGet)
	s.handle("POST /images/{rest...}", s.imagePost)
	s.handle("DELETE /images/{rest...}", s.imageDelete)
	s.handle("POST /build", s.build)
	// berth builds nothing, so it has no build cache: a prune of it
	// (docker system prune, docker builder prune) removes nothing.
	s.handle("POST /build/prune", func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, build.CachePruneReport{CachesDeleted: []string{}})
	})
}

// noSuchImage is docker's 404 for ref ("No such image: busybox:latest").
func noSuchImage(ref string) error {
	return fmt.Errorf("No such image: %s: %w", displayRef(ref), errdefs.ErrNotFound)
}

// displayRef is how docker names a reference in messages: its familiar
// form with the tag ("busybox:latest"), or ref itself if it is no name.
func displayRef(ref string) string {
	if n, err := images.NormalizeRef(ref); err == nil {
		return images.Familiar(n)
	}
	return ref
}

// imageError puts docker's wording on the core's errors about ref.
func imageError(ref string, err error) error {
	if errors.Is(err, errs.NoSuchImage) {
		return noSuchImage(ref)
	}
	return err
}

// lookupImage finds an image by name, id or id prefix.
func (s *Server) lookupImage(ref string) (images.Image, error) {
	img, err := s.Images.Get(ref)
	return img, imageError(ref, err)
}

// familiarAll is names in their familiar forms; never nil.
func familiarAll(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, images.Familiar(n))
	}
	return out
}

// imageConfig reads an image's config with docker's extensions
// (Healthcheck, Shell, OnBuild).
func (s *Server) imageConfig(ctx context.Context, img images.Image) (dockerspec.DockerOCIImage, error) {
	var c dockerspec.DockerOCIImage
	b, err := cas.ReadVerified(ctx, s.Images.Content(), img.Config)
	if err != nil {
		return c, fmt.Errorf("image %s: config: %w", short(img.ID), err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("image %s: config: %w", short(img.ID), err)
	}
	return c, nil
}

func short(id digest.Digest) string {
	if e := id.Encoded(); len(e) > 12 {
		return e[:12]
	}
	return id.Encoded()
}

// imageFilter is GET /images/json's filters.
type imageFilter struct {
	refs          []string // reference patterns (docker's, path.Match on familiar names)
	dangling      *bool
	before, since time.Time              // created strictly before / after
	rest          lifecycle.PruneFilters // until, label, label!
}

// parseImageFilters reads docker's image list filters; before and since
// name images, which lookup finds.
func parseImageFilters(f map[string][]string, now time.Time, lookup func(string) (images.Image, error)) (imageFilter, error) {
	out := imageFilter{refs: f["reference"]}
	for _, p := range out.refs {
		if _, err := path.Match(p, ""); err != nil {
			return out, fmt.Errorf("invalid filter 'reference=%s': %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
	}
	for _, v := range f["dangling"] {
		d, err := danglingValue(v)
		if err != nil {
			return out, err
		}
		if out.dangling != nil && *out.dangling != d {
			return out, fmt.Errorf("invalid filter 'dangling': both true and false: %w", errdefs.ErrInvalidArgument)
		}
		out.dangling = &d
	}
	for _, k := range []struct {
		name string
		t    *time.Time
	}{{"before", &out.before}, {"since", &out.since}} {
		for _, ref := range f[k.name] {
			img, err := lookup(ref)
			if err != nil {
				return out, err
			}
			*k.t = img.Created
		}
	}
	var kv []string
	for _, k := range []string{"until", "label", "label!"} {
		for _, v := range f[k] {
			kv = append(kv, k+"="+v)
		}
	}
	rest, err := lifecycle.ParsePruneFilters(kv, now)
	if err != nil {
		return out, err
	}
	out.rest = rest
	return out, nil
}

// danglingValue reads dangling=true|1|false|0.
func danglingValue(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid filter 'dangling=%s': %w", v, errdefs.ErrInvalidArgument)
}

// view applies the filter to img (labels are its config's) and returns
// the names to show, familiar: with a reference filter, only the names
// that match it.
func (f imageFilter) view(img images.Image, labels map[string]string) (tags, digests []string, ok bool) {
	dangling := len(img.RepoTags) == 0
	if f.dangling != nil && *f.dangling != dangling {
		return nil, nil, false
	}
	if !f.before.IsZero() && !img.Created.Before(f.before) || !f.since.IsZero() && !img.Created.After(f.since) {
		return nil, nil, false
	}
	if !f.rest.Match(img.Created, labels) {
		return nil, nil, false
	}
	keep := func(names []string) []string {
		out := []string{}
		for _, n := range names {
			ref, err := reference.ParseNormalizedNamed(n)
			if err != nil {
				continue
			}
			if len(f.refs) > 0 && !slices.ContainsFunc(f.refs, func(p string) bool {
				m, _ := reference.FamiliarMatch(p, ref)
				return m
			}) {
				continue
			}
			out = append(out, reference.FamiliarString(ref))
		}
		return out
	}
	tags, digests = keep(img.RepoTags), keep(img.RepoDigests)
	if len(f.refs) > 0 && len(tags) == 0 && len(digests) == 0 {
		return nil, nil, false
	}
	return tags, digests, true
}

// usersOf maps image ids to the containers made from them.
func (s *Server) usersOf() map[string][]lifecycle.Info {
	out := map[string][]lifecycle.Info{}
	for _, i := range s.Manager.List() {
		if i.Spec.ImageID != "" {
			out[i.Spec.ImageID] = append(out[i.Spec.ImageID], i)
		}
	}
	return out
}

// imageList is GET /images/json: all (berth keeps no intermediate
// images, so it changes nothing), filters.
func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	raw, err := parseFilters(r, "reference", "dangling", "label", "label!", "before", "since", "until")
	if err != nil {
		return err
	}
	f, err := parseImageFilters(raw, time.Now(), s.lookupImage)
	if err != nil {
		return err
	}
	version := apiVersion(r.Context())
	users := s.usersOf()
	out := []image.Summary{}
	for _, img := range s.Images.List() {
		cfg, err := s.imageConfig(r.Context(), img)
		if err != nil {
			return err
		}
		labels := cfg.Config.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		tags, digests, ok := f.view(img, labels)
		if !ok {
			continue
		}
		sum := image.Summary{
			ID: img.ID.String(), RepoTags: tags, RepoDigests: digests, Created: img.Created.Unix(), Size: img.Size,
			SharedSize: -1, Labels: labels, Containers: int64(len(users[img.ID.String()])),
		}
		if compareVersions(version, "1.43") < 0 && len(tags) == 0 && len(digests) == 0 {
			sum.RepoTags, sum.RepoDigests = []string{"<none>:<none>"}, []string{"<none>@<none>"}
		}
		if compareVersions(version, "1.48") >= 0 {
			d := img.Manifest
			sum.Descriptor = &d
		}
		if compareVersions(version, "1.51") < 0 {
			sum.Containers = -1
		}
		out = append(out, sum)
	}
	return writeJSON(w, http.StatusOK, out)
}

// imageGet is GET /images/{name}/json, /images/{name}/history and
// /images/{name}/get (and /images/search, which berth does not serve).
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/json"); ok {
		return s.imageInspect(w, r, name)
	}
	if name, ok := strings.CutSuffix(rest, "/history"); ok {
		return s.imageHistory(w, r, name)
	}
	if name, ok := strings.CutSuffix(rest, "/get"); ok {
		return s.imageSave(w, r, []string{name})
	}
	if rest == "search" {
		return fmt.Errorf("berth does not search registries (GET /images/search is not implemented): %w", errdefs.ErrNotImplemented)
	}
	return notFoundPath(r)
}

// imagePost is POST /images/{name}/tag and /images/{name}/push.
func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/tag"); ok {
		return s.imageTag(w, r, name)
	}
	if _, ok := strings.CutSuffix(rest, "/push"); ok {
		return fmt.Errorf("berth does not push images: %w", errdefs.ErrNotImplemented)
	}
	return notFoundPath(r)
}

func notFoundPath(r *http.Request) error {
	return fmt.Errorf("page not found: %s %s: %w", r.Method, r.URL.Path, errdefs.ErrNotFound)
}

func (s *Server) imageInspect(w http.ResponseWriter, r *http.Request, ref string) error {
	img, err := s.lookupImage(ref)
	if err != nil {
		return err
	}
	cfg, err := s.imageConfig(r.Context(), img)
	if err != nil {
		return err
	}
	layers := []string{}
	for _, d := range cfg.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	v := image.InspectResponse{
		ID: img.ID.String(), RepoTags: familiarAll(img.RepoTags), RepoDigests: familiarAll(img.RepoDigests),
		Author: cfg.Author, Config: &cfg.Config, Architecture: cfg.Architecture, Variant: cfg.Variant,
		Os: cfg.OS, OsVersion: cfg.OSVersion, Size: img.Size,
		RootFS: image.RootFS{Type: cfg.RootFS.Type, Layers: layers},
	}
	if n := len(cfg.History); n > 0 {
		v.Comment = cfg.History[n-1].Comment // docker commit -m's message
	}
	if cfg.Created != nil {
		v.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	} else if compareVersions(apiVersion(r.Context()), "1.44") < 0 {
		v.Created = time.Time{}.Format(time.RFC3339Nano)
	}
	if dirs, err := s.Images.LayerDirs(img); err == nil {
		slices.Reverse(dirs) // overlay's lowerdir: the top layer first
		v.GraphDriver = &storage.DriverData{Name: "overlay", Data: map[string]string{"LowerDir": strings.Join(dirs, ":")}}
	}
	if compareVersions(apiVersion(r.Context()), "1.48") >= 0 {
		d := img.Manifest
		v.Descriptor = &d
	}
	return writeJSON(w, http.StatusOK, v)
}

// imageHistory is GET /images/{name}/history: the config's history,
// newest first; the entry of the top layer carries the image's id and
// tags, the others "<missing>" (their images are not here), as docker.
func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, ref string) error {
	img, err := s.lookupImage(ref)
	if err != nil {
		return err
	}
	cfg, err := s.imageConfig(r.Context(), img)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, history(img, cfg))
}

// history builds docker's history of an image from its config: one
// entry per history record, or, when the config has none, per layer.
func history(img images.Image, cfg dockerspec.DockerOCIImage) []image.HistoryResponseItem {
	out := []image.HistoryResponseItem{}
	layer := 0
	for _, h := range cfg.History {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && layer < len(img.Layers) {
			item.Size = img.Layers[layer].Size
			layer++
		}
		out = append(out, item)
	}
	if len(cfg.History) == 0 {
		for _, l := range img.Layers {
			out = append(out, image.HistoryResponseItem{ID: "<missing>", Created: img.Created.Unix(), Size: l.Size})
		}
	}
	slices.Reverse(out)
	if len(out) > 0 {
		out[0].ID = img.ID.String()
		out[0].Tags = familiarAll(img.RepoTags)
	}
	return out
}

// imageTag is POST /images/{name}/tag?repo=&tag=.
func (s *Server) imageTag(w http.ResponseWriter, r *http.Request, ref string) error {
	target, err := tagTarget(r.URL.Query().Get("repo"), r.URL.Query().Get("tag"))
	if err != nil {
		return err
	}
	if _, err := s.Images.Tag(ref, target); err != nil {
		return imageError(ref, err)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// tagTarget joins tag's repo and tag parameters into a name.
func tagTarget(repo, tag string) (string, error) {
	if repo == "" {
		return "", fmt.Errorf("repository name must have at least one component: %w", errdefs.ErrInvalidArgument)
	}
	n, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return "", fmt.Errorf("invalid reference format: %q: %v: %w", repo, err, errdefs.ErrInvalidArgument)
	}
	if _, ok := n.(reference.Digested); ok {
		return "", fmt.Errorf("refusing to create a tag with a digest reference: %q: %w", repo, errdefs.ErrInvalidArgument)
	}
	if tag == "" {
		return repo, nil
	}
	if _, ok := n.(reference.Tagged); ok {
		return "", fmt.Errorf("repository %q has a tag already; give the tag once: %w", repo, errdefs.ErrInvalidArgument)
	}
	if _, err := reference.WithTag(n, tag); err != nil {
		return "", fmt.Errorf("invalid tag %q: %v: %w", tag, err, errdefs.ErrInvalidArgument)
	}
	return repo + ":" + tag, nil
}

// imageDelete is DELETE /images/{name}?force=&noprune= (berth keeps no
// parent images, so noprune changes nothing), with docker's rules and
// report.
func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("rest")
	img, err := s.lookupImage(ref)
	if err != nil {
		return err
	}
	force := boolValue(r, "force")
	act, err := planRemove(ref, img, force, s.usersOf()[img.ID.String()])
	if err != nil {
		return err
	}
	out := []image.DeleteResponse{}
	if act.untag != nil {
		for _, n := range act.untag {
			u, err := s.Images.Untag(n)
			if err != nil {
				return imageError(ref, err)
			}
			for _, x := range u.Untagged {
				out = append(out, image.DeleteResponse{Untagged: images.Familiar(x)})
			}
		}
		return writeJSON(w, http.StatusOK, out)
	}
	res, err := s.Images.Remove(r.Context(), img.ID.String(), true)
	if err != nil {
		return imageError(ref, err)
	}
	for _, x := range res.Untagged {
		out = append(out, image.DeleteResponse{Untagged: images.Familiar(x)})
	}
	if res.Deleted != "" {
		out = append(out, image.DeleteResponse{Deleted: res.Deleted.String()})
	}
	return writeJSON(w, http.StatusOK, out)
}

// removal is what DELETE /images/{name} does: untag these names (the
// image stays), or, when untag is nil, remove the image.
type removal struct {
	untag []string
}

// planRemove applies docker's rules for removing ref (a name of img, or
// its id) given the containers made from img: a name goes alone while
// the image has names in other repositories (with the repository digests
// of its repository when it was its last tag there); the last name of an
// image a container uses needs force, and then, if a running container
// uses it, only the name goes. By id: a running container's image is not
// removed even by force; a stopped container's, or one with names in
// several repositories, only by force.
func planRemove(ref string, img images.Image, force bool, users []lifecycle.Info) (removal, error) {
	id := short(img.ID)
	var running, stopped *lifecycle.Info
	for i := range users {
		if users[i].State.Live() {
			if running == nil {
				running = &users[i]
			}
		} else if stopped == nil {
			stopped = &users[i]
		}
	}
	all := append(slices.Clone(img.RepoTags), img.RepoDigests...)
	name, nerr := images.NormalizeRef(ref)
	byName := nerr == nil && (slices.Contains(img.RepoTags, name) || slices.Contains(img.RepoDigests, repoDigestOf(name)))
	if byName {
		if !force && singleRepository(all) && len(users) > 0 {
			return removal{}, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s: %w",
				ref, users[0].ID[:12], id, errdefs.ErrConflict)
		}
		if rd := repoDigestOf(name); rd != "" {
			name = rd
		}
		untag := []string{name}
		repo := repositoryOf(name)
		left := slices.DeleteFunc(slices.Clone(all), func(x string) bool { return x == name })
		if !strings.Contains(name, "@") && !slices.ContainsFunc(left, func(x string) bool { return !strings.Contains(x, "@") && repositoryOf(x) == repo }) {
			// The last tag of its repository takes that repository's
			// digests along.
			for _, x := range left {
				if strings.Contains(x, "@") && repositoryOf(x) == repo {
					untag = append(untag, x)
				}
			}
			left = slices.DeleteFunc(left, func(x string) bool { return slices.Contains(untag, x) })
		}
		if len(left) > 0 || running != nil {
			return removal{untag: untag}, nil
		}
		return removal{}, nil
	}
	if running != nil {
		return removal{}, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s: %w", id, running.ID[:12], errdefs.ErrConflict)
	}
	if !force && stopped != nil {
		return removal{}, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s: %w", id, stopped.ID[:12], errdefs.ErrConflict)
	}
	if !force && !singleRepository(all) {
		return removal{}, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", id, errdefs.ErrConflict)
	}
	return removal{}, nil
}

// repositoryOf is the repository of a normalised name.
func repositoryOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return n.Name()
}

// repoDigestOf is "repository@digest" of a name with a digest, else "".
func repoDigestOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	if d, ok := n.(reference.Digested); ok {
		return n.Name() + "@" + d.Digest().String()
	}
	return ""
}

// singleRepository reports docker's "single reference": at most one tag,
// and every name in one repository.
func singleRepository(names []string) bool {
	tags := 0
	repos := map[string]bool{}
	for _, n := range names {
		if !strings.Contains(n, "@") {
			tags++
		}
		repos[repositoryOf(n)] = true
	}
	return len(names) > 0 && tags <= 1 && len(repos) == 1
}

// imagePrune is POST /images/prune: dangling (default true: only images
// without a tag; false: every image no container uses), until, label,
// label!.
func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) error {
	raw, err := parseFilters(r, "dangling", "until", "label", "label!")
	if err != nil {
		return err
	}
	danglingOnly := true
	for _, v := range raw["dangling"] {
		if danglingOnly, err = danglingValue(v); err != nil {
			return err
		}
	}
	delete(raw, "dangling")
	f, err := parseImageFilters(raw, time.Now(), s.lookupImage)
	if err != nil {
		return err
	}
	ctx := r.Context()
	removed, pruned, err := s.Images.RemoveUnused(ctx, func(img images.Image) bool {
		if danglingOnly && len(img.RepoTags) > 0 {
			return false
		}
		cfg, err := s.imageConfig(ctx, img)
		if err != nil {
			return false
		}
		return f.rest.Match(img.Created, cfg.Config.Labels)
	})
	if err != nil {
		return err
	}
	rep := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}, SpaceReclaimed: uint64(pruned.Bytes)}
	for _, rm := range removed {
		for _, x := range rm.Untagged {
			rep.ImagesDeleted = append(rep.ImagesDeleted, image.DeleteResponse{Untagged: images.Familiar(x)})
		}
		rep.ImagesDeleted = append(rep.ImagesDeleted, image.DeleteResponse{Deleted: rm.Deleted.String()})
	}
	return writeJSON(w, http.StatusOK, rep)
}

// imageSaveMany is GET /images/get?names=a&names=b.
func (s *Server) imageSaveMany(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		return fmt.Errorf("no image given: set names: %w", errdefs.ErrInvalidArgument)
	}
	return s.imageSave(w, r, names)
}

// imageSave writes one archive of refs (docker save's format, which OCI
// tools read as well). Every name is looked up before the answer starts,
// so a missing one is docker's 404; a failure once the archive is under
// way ends the connection, which the client sees as a truncated stream.
func (s *Server) imageSave(w http.ResponseWriter, r *http.Request, refs []string) error {
	for _, ref := range refs {
		if _, err := s.lookupImage(ref); err != nil {
			return err
		}
	}
	if p := r.URL.Query().Get("platform"); p != "" {
		if err := hostPlatform(p); err != nil {
			return err
		}
	}
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	if err := s.Images.Save(r.Context(), lw, refs); err != nil {
		if !lw.started {
			return imageError(strings.Join(refs, " "), err)
		}
		s.Log.Warn("image save failed mid-stream", "images", refs, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !lw.started {
		lw.start()
	}
	return nil
}

// lazyWriter sends the response headers with the first byte.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) start() {
	l.started = true
	l.w.Header().Set("Content-Type", l.contentType)
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}

// hostPlatform refuses a platform other than the host's: berth keeps
// images for the host's platform only.
func hostPlatform(p string) error {
	want, err := platforms.Parse(p)
	if err != nil {
		return fmt.Errorf("platform %q: %v: %w", p, err, errdefs.ErrInvalidArgument)
	}
	if !platforms.Default().Match(want) && !platforms.Only(want).Match(platforms.DefaultSpec()) {
		return fmt.Errorf("platform %q: berth keeps images for this host's platform (%s) only: %w", p, platforms.Format(platforms.DefaultSpec()), errdefs.ErrInvalidArgument)
	}
	return nil
}

// jsonStream writes docker's JSON progress stream (one message a line,
// flushed). The response headers go out with the first message, so that
// a request refused before it is answered with a plain error.
type jsonStream struct {
	w       http.ResponseWriter
	mu      sync.Mutex
	started bool
}

// streamMessage is a jsonstream.Message with the "error" field that
// clients older than the errorDetail object read.
type streamMessage struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

func (j *jsonStream) send(m streamMessage) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started {
		j.started = true
		j.w.Header().Set("Content-Type", "application/json")
		j.w.WriteHeader(http.StatusOK)
	}
	if err := jsonEncode(j.w, m); err != nil {
		return err
	}
	if f, ok := j.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (j *jsonStream) status(id, status string, p *jsonstream.Progress) error {
	return j.send(streamMessage{Message: jsonstream.Message{ID: id, Status: status, Progress: p}})
}

func (j *jsonStream) stream(text string) error {
	return j.send(streamMessage{Message: jsonstream.Message{Stream: text}})
}

func (j *jsonStream) fail(err error) error {
	msg := errorMessage(err)
	return j.send(streamMessage{Message: jsonstream.Message{Error: &jsonstream.Error{Message: msg}}, ErrorMessage: msg})
}

// imageLoad is POST /images/load: a docker save or OCI archive as the
// body (plain or compressed); the answer is docker's JSON stream with a
// "Loaded image: NAME" line per name (or "Loaded image ID: ID" for an
// image without one), or the error. quiet changes nothing: berth reports
// no per-layer progress for a load.
func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) error {
	if p := r.URL.Query().Get("platform"); p != "" {
		if err := hostPlatform(p); err != nil {
			return err
		}
	}
	js := &jsonStream{w: w}
	loaded, err := s.Images.Load(r.Context(), r.Body)
	if err != nil {
		return js.fail(err)
	}
	for _, l := range loaded {
		if len(l.Tags) == 0 {
			js.stream("Loaded image ID: " + l.ID.String() + "\n")
			continue
		}
		for _, t := range l.Tags {
			js.stream("Loaded image: " + images.Familiar(t) + "\n")
		}
	}
	return nil
}

// pullRef joins create's fromImage and tag parameters (tag may be a
// digest) into a normalised reference. A name without a tag and no tag
// parameter asks docker for every tag of the repository, which berth
// does not do.
func pullRef(fromImage, tag string) (string, error) {
	n, err := reference.ParseNormalizedNamed(strings.TrimSuffix(fromImage, ":"))
	if err != nil {
		return "", fmt.Errorf("invalid reference format: %q: %v: %w", fromImage, err, errdefs.ErrInvalidArgument)
	}
	if tag == "" && reference.IsNameOnly(n) {
		return "", fmt.Errorf("pulling every tag of %s (docker pull -a) is not supported by berth: name a tag: %w", reference.FamiliarName(n), errdefs.ErrNotImplemented)
	}
	if tag != "" {
		if d, derr := digest.Parse(tag); derr == nil {
			n, err = reference.WithDigest(reference.TrimNamed(n), d)
		} else {
			n, err = reference.WithTag(n, tag)
		}
		if err != nil {
			return "", fmt.Errorf("invalid tag or digest %q: %v: %w", tag, err, errdefs.ErrInvalidArgument)
		}
	}
	return images.NormalizeRef(n.String())
}

// registryAuth decodes X-Registry-Auth (base64url JSON of
// registry.AuthConfig); absent or empty is nil.
func registryAuth(h string) (*images.Credentials, error) {
	if h == "" {
		return nil, nil
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding} {
		if b, err = enc.DecodeString(h); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid X-Registry-Auth header: not base64: %w", errdefs.ErrInvalidArgument)
	}
	var a registry.AuthConfig
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("invalid X-Registry-Auth header: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if a.Auth != "" && a.Username == "" {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return nil, fmt.Errorf("invalid X-Registry-Auth header: auth: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		a.Username, a.Password, _ = strings.Cut(string(dec), ":")
	}
	if a.Username == "" && a.Password == "" && a.IdentityToken == "" && a.RegistryToken == "" {
		return nil, nil
	}
	return &images.Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}, nil
}

// imageCreate is POST /images/create: a pull (fromImage, tag, platform)
// with docker's progress stream; importing a root file system (fromSrc)
// is not supported. Until the registry has answered, a failure is a plain
// error (404 for a missing image, as the docker CLI expects); after, it
// is the stream's last message.
func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from := q.Get("fromImage")
	if from == "" {
		if q.Get("fromSrc") != "" {
			return fmt.Errorf("importing a root file system (fromSrc, docker import) is not supported by berth: load an image archive instead (docker load): %w", errdefs.ErrNotImplemented)
		}
		return fmt.Errorf("image name cannot be blank: give fromImage: %w", errdefs.ErrInvalidArgument)
	}
	if p := q.Get("platform"); p != "" {
		if err := hostPlatform(p); err != nil {
			return err
		}
	}
	name, err := pullRef(from, q.Get("tag"))
	if err != nil {
		return err
	}
	creds, err := registryAuth(r.Header.Get(registry.AuthHeader))
	if err != nil {
		return err
	}
	named, _ := reference.ParseNormalizedNamed(name)
	tagOrDigest := "latest"
	switch n := named.(type) {
	case reference.Digested:
		tagOrDigest = n.Digest().String()
	case reference.Tagged:
		tagOrDigest = n.Tag()
	}
	var before digest.Digest
	if img, err := s.Images.Get(name); err == nil {
		before = img.ID
	}
	js := &jsonStream{w: w}
	p := &pullProgress{js: js, tagOrDigest: tagOrDigest, path: reference.Path(named), existed: map[digest.Digest]bool{}}
	img, err := s.Images.Pull(r.Context(), name, images.PullOptions{
		Registries: images.Registries(s.snapshot().Registries), Credentials: creds, Events: p.event,
	})
	if err != nil {
		if r.Context().Err() != nil && js.started {
			return nil // the client left
		}
		if errors.Is(err, errs.NoSuchImage) {
			err = fmt.Errorf("manifest for %s not found: manifest unknown: %w", images.Familiar(name), errdefs.ErrNotFound)
		}
		if !js.started {
			return err
		}
		return js.fail(err)
	}
	js.status("", "Digest: "+p.resolved.String(), nil)
	if before == img.ID {
		return js.status("", "Status: Image is up to date for "+images.Familiar(name), nil)
	}
	return js.status("", "Status: Downloaded newer image for "+images.Familiar(name), nil)
}

// pullProgress turns the core's pull events into docker's messages: a
// layer is named by the first 12 digits of its digest.
type pullProgress struct {
	js          *jsonStream
	tagOrDigest string
	path        string // the repository's path ("library/busybox")
	resolved    digest.Digest
	existed     map[digest.Digest]bool // layers that were here already
}

func (p *pullProgress) event(ev images.PullEvent) {
	id := short(ev.Digest)
	switch ev.Step {
	case images.Resolved:
		p.resolved = ev.Digest
		p.js.status(p.tagOrDigest, "Pulling from "+p.path, nil)
	case images.LayerWaiting:
		p.js.status(id, "Pulling fs layer", nil)
	case images.LayerExists:
		p.existed[ev.Digest] = true
		p.js.status(id, "Already exists", nil)
	case images.LayerDownloading:
		p.js.status(id, "Downloading", &jsonstream.Progress{Current: ev.Current, Total: ev.Total})
	case images.LayerDownloaded:
		p.js.status(id, "Download complete", nil)
	case images.LayerUnpacked:
		if !p.existed[ev.Digest] {
			p.js.status(id, "Pull complete", nil)
		}
	}
}

// build is POST /build: berth does not build images.
func (s *Server) build(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("berth does not build images (POST /build is not implemented): build with buildah or BuildKit and load the result with docker load: %w", errdefs.ErrNotImplemented)
}
