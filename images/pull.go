package images

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	ctrimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/semaphore"
)

// Registry is how to reach one registry host ("HOST[:PORT]").
type Registry struct {
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// Mirrors are tried in order before the registry itself, for pulls
	// ("https://mirror.example.com" or "mirror:5000").
	Mirrors []string
}

// PullOptions tune Pull.
type PullOptions struct {
	// Registries by host; a host not listed uses HTTPS, except
	// localhost and 127.0.0.1, which use plain HTTP like docker.
	Registries map[string]Registry
	// AuthFile is a docker-style config.json with "auths" (optional).
	AuthFile string
	// Progress, if set, is called as bytes arrive (from several
	// goroutines, never at once).
	Progress func(Progress)
	// Concurrency bounds parallel blob fetches (default 4).
	Concurrency int
	// Credentials, if set, authenticate to the registry of the pulled
	// reference instead of AuthFile (docker's X-Registry-Auth); mirrors
	// and other hosts still use AuthFile.
	Credentials *Credentials
	// Events, if set, is told the steps of the pull, layer by layer, for
	// displays such as docker's (from several goroutines, never at once).
	Events func(PullEvent)
}

// Credentials for one registry.
type Credentials struct {
	Username, Password string
	// IdentityToken is an OAuth2 refresh token (what docker login keeps
	// for some registries); it takes the place of the password.
	IdentityToken string
	// RegistryToken is a bearer token sent as it is.
	RegistryToken string
}

// PullStep is what a PullEvent tells.
type PullStep int

// The steps of a pull. Resolved comes first (the reference was found,
// Digest is what it names); then, for each layer of the manifest (Digest
// is the layer's, Total its size in bytes), LayerWaiting, then either
// LayerExists (in the store already) or LayerDownloading (Current bytes
// of Total fetched, repeated) and LayerDownloaded, and last LayerUnpacked.
const (
	Resolved PullStep = iota
	LayerWaiting
	LayerExists
	LayerDownloading
	LayerDownloaded
	LayerUnpacked
)

// PullEvent is one step of a pull.
type PullEvent struct {
	Step           PullStep
	Digest         digest.Digest
	Current, Total int64
}

// Registries converts the configuration's registries.
func Registries(regs map[string]config.Registry) map[string]Registry {
	out := make(map[string]Registry, len(regs))
	for host, r := range regs {
		out[host] = Registry{Insecure: r.Insecure, Mirrors: r.Mirrors}
	}
	return out
}

// Progress of a pull.
type Progress struct {
	Done, Total       int64 // bytes of blobs fetched (or found present) / known so far
	Blobs, BlobsTotal int
}

// DefaultAuthFile is root's docker credentials.
func DefaultAuthFile() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	return "/root/.docker/config.json"
}

// credentials reads "auths" from a docker config.json: host → user, secret.
func credentials(file string) func(host string) (string, string, error) {
	return func(host string) (string, string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", nil
		}
		var cfg struct {
			Auths map[string]struct {
				Auth          string `json:"auth"`
				Username      string `json:"username"`
				Password      string `json:"password"`
				IdentityToken string `json:"identitytoken"`
			} `json:"auths"`
		}
		if json.Unmarshal(b, &cfg) != nil {
			return "", "", nil
		}
		keys := []string{host, "https://" + host, "http://" + host}
		if host == "registry-1.docker.io" || host == "docker.io" {
			keys = append(keys, "https://index.docker.io/v1/", "index.docker.io", "docker.io")
		}
		for _, k := range keys {
			a, ok := cfg.Auths[k]
			if !ok {
				continue
			}
			if a.IdentityToken != "" {
				return "", a.IdentityToken, nil
			}
			if a.Auth != "" {
				dec, err := base64.StdEncoding.DecodeString(a.Auth)
				if err != nil {
					return "", "", fmt.Errorf("%s: auths[%s]: %v", file, k, err)
				}
				u, p, _ := strings.Cut(string(dec), ":")
				return u, p, nil
			}
			return a.Username, a.Password, nil
		}
		return "", "", nil
	}
}

func isLocal(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// hosts maps a registry host to the endpoints to try: mirrors, then the
// registry itself. o.Credentials are for refHost (the pulled reference's).
func hosts(o PullOptions, refHost string) docker.RegistryHosts {
	fromFile := credentials(o.AuthFile)
	creds := fromFile
	if c := o.Credentials; c != nil {
		creds = func(host string) (string, string, error) {
			if host != refHost && !(refHost == "docker.io" && host == "registry-1.docker.io") {
				return fromFile(host)
			}
			if c.IdentityToken != "" {
				return "", c.IdentityToken, nil
			}
			return c.Username, c.Password, nil
		}
	}
	auth := docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))
	return func(host string) ([]docker.RegistryHost, error) {
		reg := o.Registries[host]
		mk := func(h string, insecure bool, caps docker.HostCapabilities) docker.RegistryHost {
			scheme := "https"
			if u, err := url.Parse(h); err == nil && u.Scheme != "" && u.Host != "" {
				scheme, h = u.Scheme, u.Host
			} else if insecure || isLocal(h) {
				scheme = "http"
			}
			tr := docker.DefaultHTTPTransport(&tls.Config{InsecureSkipVerify: insecure}) //nolint:gosec // "insecure" asks for it
			rh := docker.RegistryHost{
				Client: &http.Client{Transport: tr}, Authorizer: auth, Host: h, Scheme: scheme, Path: "/v2",
				Capabilities: caps,
			}
			if h == "docker.io" {
				rh.Host = "registry-1.docker.io"
			}
			if c := o.Credentials; c != nil && c.RegistryToken != "" && host == refHost && h == host {
				rh.Header = http.Header{"Authorization": {"Bearer " + c.RegistryToken}}
			}
			return rh
		}
		var out []docker.RegistryHost
		for _, m := range reg.Mirrors {
			out = append(out, mk(m, reg.Insecure, docker.HostCapabilityPull|docker.HostCapabilityResolve))
		}
		return append(out, mk(host, reg.Insecure, docker.HostCapabilityPull|docker.HostCapabilityResolve|docker.HostCapabilityPush)), nil
	}
}

// countingFetcher counts the bytes read from a fetcher, by blob.
type countingFetcher struct {
	remotes.Fetcher
	add func(desc ocispec.Descriptor, n int64)
}

func (f countingFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := f.Fetcher.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	return &countingReadCloser{ReadCloser: rc, add: func(n int64) { f.add(desc, n) }}, nil
}

type countingReadCloser struct {
	io.ReadCloser
	add func(int64)
}

func (c *countingReadCloser) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.add(int64(n))
	return n, err
}

// Pull fetches ref from its registry over the OCI distribution API: the
// manifest for the host platform, its config and layers (concurrently;
// blobs already in the store are not fetched again; each is verified
// against its digest as it is committed), unpacks the layers and records
// the image under the normalised name.
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (Image, error) {
	s.gcMu.RLock()
	img, err := s.pull(ctx, ref, o)
	if !s.release(ctx, true) && err != nil {
		s.gc(ctx) // what the failed pull left, once others are done
	}
	if err != nil {
		return Image{}, err
	}
	events.Emit(events.ImagePulled, "berthd", fmt.Sprintf("image %s pulled as %s", short(img.ID), ref),
		events.Field{Name: events.FieldImageID, Value: img.ID.String()}, events.Field{Name: events.FieldImageName, Value: ref})
	s.notify()
	return img, nil
}

func (s *Store) pull(ctx context.Context, ref string, o PullOptions) (Image, error) {
	name, err := NormalizeRef(ref)
	if err != nil {
		return Image{}, err
	}
	named, _ := reference.ParseNormalizedNamed(name)
	if o.AuthFile == "" {
		o.AuthFile = DefaultAuthFile()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: hosts(o, reference.Domain(named))})
	rname, desc, err := resolver.Resolve(ctx, name)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return Image{}, fmt.Errorf("pull %s: %v: %w", ref, err, errs.NoSuchImage)
		}
		return Image{}, fmt.Errorf("pull %s: %v: %w", ref, err, errdefs.ErrUnavailable)
	}
	fetcher, err := resolver.Fetcher(ctx, rname)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}

	var (
		mu                sync.Mutex
		done, total       atomic.Int64
		blobs, blobsTotal atomic.Int64
	)
	report := func() {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		o.Progress(Progress{Done: done.Load(), Total: total.Load(), Blobs: int(blobs.Load()), BlobsTotal: int(blobsTotal.Load())})
		mu.Unlock()
	}
	emit := func(ev PullEvent) {
		if o.Events == nil {
			return
		}
		mu.Lock()
		o.Events(ev)
		mu.Unlock()
	}
	emit(PullEvent{Step: Resolved, Digest: desc.Digest, Total: desc.Size})
	var (
		last      atomic.Int64
		layerMu   sync.Mutex
		layerDone = map[digest.Digest]int64{} // bytes fetched by layer
		layerLast = map[digest.Digest]int64{} // … when last told
	)
	counted := countingFetcher{Fetcher: fetcher, add: func(d ocispec.Descriptor, n int64) {
		if done.Add(n)-last.Load() > 256<<10 {
			last.Store(done.Load())
			report()
		}
		if o.Events == nil || !isLayer(d.MediaType) || n == 0 {
			return
		}
		layerMu.Lock()
		layerDone[d.Digest] += n
		cur := layerDone[d.Digest]
		tell := cur-layerLast[d.Digest] >= 128<<10 || cur == d.Size
		if tell {
			layerLast[d.Digest] = cur
		}
		layerMu.Unlock()
		if tell {
			emit(PullEvent{Step: LayerDownloading, Digest: d.Digest, Current: cur, Total: d.Size})
		}
	}}
	fetch := remotes.FetchHandler(s.cs, counted)
	children := ctrimages.LimitManifests(ctrimages.FilterPlatforms(ctrimages.ChildrenHandler(s.cs), s.platform), s.platform, 1)
	handler := ctrimages.Handlers(
		ctrimages.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			total.Add(d.Size)
			blobsTotal.Add(1)
			present, _ := s.cs.Info(ctx, d.Digest)
			had := present.Size == d.Size && present.Digest == d.Digest
			if isLayer(d.MediaType) && had {
				emit(PullEvent{Step: LayerExists, Digest: d.Digest, Current: d.Size, Total: d.Size})
			}
			children, err := fetch(ctx, d)
			if err == nil {
				if had {
					done.Add(d.Size) // in the store already: not fetched
				} else if isLayer(d.MediaType) {
					emit(PullEvent{Step: LayerDownloaded, Digest: d.Digest, Current: d.Size, Total: d.Size})
				}
				blobs.Add(1)
				report()
			}
			return children, err
		}),
		ctrimages.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			out, err := children.Handle(ctx, d)
			if err == nil && isManifest(d.MediaType) {
				for _, c := range out {
					if isLayer(c.MediaType) {
						emit(PullEvent{Step: LayerWaiting, Digest: c.Digest, Total: c.Size})
					}
				}
			}
			return out, err
		}),
	)
	if err := ctrimages.Dispatch(ctx, handler, semaphore.NewWeighted(int64(o.Concurrency)), desc); err != nil {
		return Image{}, fmt.Errorf("pull %s: %v: %w", ref, err, classOf(err))
	}
	res, err := resolve(ctx, s.cs, desc, s.platform, 0)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := s.unpack(ctx, res, func(d digest.Digest) { emit(PullEvent{Step: LayerUnpacked, Digest: d}) })
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var tags []string
	if _, digested := named.(reference.Digested); !digested {
		tags = []string{name}
	}
	s.record(img, tags, []string{repoDigest(name, desc.Digest)})
	if err := s.save(); err != nil {
		return Image{}, err
	}
	report()
	return copyImage(img), nil
}

func classOf(err error) error {
	switch {
	case errors.Is(err, errs.NoSuchPlatform):
		return errs.NoSuchPlatform
	case errdefs.IsNotFound(err):
		return errdefs.ErrNotFound
	case errdefs.IsFailedPrecondition(err), errdefs.IsInvalidArgument(err), errors.Is(err, errdefs.ErrDataLoss):
		return errdefs.ErrInvalidArgument
	}
	return errdefs.ErrUnavailable
}

// Login checks credentials against a registry as docker login does: a GET
// of its /v2/ endpoint with the registry's challenge answered (basic
// authentication or a token). host is a registry host as in a reference
// ("docker.io", "localhost:5000"). Wrong credentials are
// errdefs.ErrUnauthenticated; a registry that cannot be reached
// errdefs.ErrUnavailable.
func Login(ctx context.Context, o PullOptions, host string) error {
	hs, err := hosts(o, host)(host)
	if err != nil || len(hs) == 0 {
		return fmt.Errorf("registry %s: no endpoint: %v: %w", host, err, errdefs.ErrInvalidArgument)
	}
	rh := hs[len(hs)-1] // the registry itself, not a mirror
	u := rh.Scheme + "://" + rh.Host + rh.Path + "/"
	get := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range rh.Header {
			req.Header[k] = v
		}
		if err := rh.Authorizer.Authorize(ctx, req); err != nil {
			return nil, err
		}
		return rh.Client.Do(req)
	}
	resp, err := get()
	if err != nil {
		return fmt.Errorf("login to %s: %v: %w", host, err, errdefs.ErrUnavailable)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		if err := rh.Authorizer.AddResponses(ctx, []*http.Response{resp}); err != nil {
			return fmt.Errorf("login to %s: %v: %w", host, err, errdefs.ErrUnauthenticated)
		}
		if resp, err = get(); err != nil {
			return fmt.Errorf("login to %s: %v: %w", host, err, errdefs.ErrUnauthenticated)
		}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("login to %s: unauthorized: incorrect username or password: %w", host, errdefs.ErrUnauthenticated)
	default:
		return fmt.Errorf("login to %s: the registry answered %s: %w", host, resp.Status, errdefs.ErrUnavailable)
	}
}
