package engineapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/idle"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
)

// The API versions served: APIVersion is advertised (Api-Version) and is
// the version of unversioned paths; clients may ask for any version down
// to MinAPIVersion (docker's own minimum for API 1.51 daemons is 1.24; 1.40
// is docker 19.03, the oldest client berth is tested against).
const (
	APIVersion    = "1.51"
	MinAPIVersion = "1.40"
)

// MaxBody bounds a JSON request body (bytes). Archives and image tarballs
// are streams and are not bounded by it.
const MaxBody = 4 << 20

// Options are what a Server serves.
type Options struct {
	Manager *lifecycle.Manager
	Images  *images.Store
	Volumes *volumes.Store
	Live    *config.Live
	Idle    *idle.Tracker
	Log     *slog.Logger
	// Version is berth's version (Server header, /version).
	Version string
}

// Server is the Engine API edge. It is safe for concurrent use.
type Server struct {
	Options
	mux *http.ServeMux

	mu sync.Mutex
	// waiters get every container event (wait conditions, attach before
	// start).
	waiters map[*waiter]struct{}
	// attaching counts HTTP attaches waiting for a container's start, so
	// that the start holds the payload's output for them (docker's
	// order: attach, wait, start).
	attaching map[string]int
	// ttys are the open attach and exec streams by container or exec id,
	// for resize requests.
	ttys map[string]*ttyStream
	// sizes are terminal sizes asked for while an attach or exec
	// stream was being opened, applied when it is.
	sizes map[string][2]uint16
	execs map[string]*execRecord
}

// New returns a Server over the engine core.
func New(o Options) *Server {
	s := &Server{
		Options:   o,
		mux:       http.NewServeMux(),
		waiters:   map[*waiter]struct{}{},
		attaching: map[string]int{},
		ttys:      map[string]*ttyStream{},
		sizes:     map[string][2]uint16{},
		execs:     map[string]*execRecord{},
	}
	// What no route serves is docker's JSON 404, not net/http's text.
	s.handle("/", func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("page not found: %s %s: %w", r.Method, r.URL.Path, errdefs.ErrNotFound)
	})
	s.routes()
	s.handle("POST /auth", s.auth)
	s.execRoutes()
	s.archiveRoutes()
	s.fsRoutes()
	s.volumeRoutes()
	s.networkRoutes()
	s.imageRoutes()
	return s
}

type versionKey struct{}

// apiVersion is the version a request asked for (its path's /v1.NN, or
// APIVersion).
func apiVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok {
		return v
	}
	return APIVersion
}

var versionedPath = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// ServeHTTP sets docker's response headers, checks the requested API
// version, strips it from the path and counts the request as activity for
// as long as its handler runs (streams included).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.Idle.Begin()()
	h := w.Header()
	h.Set("Api-Version", APIVersion)
	h.Set("Server", "berth/"+s.Version+" (linux)")
	h.Set("Ostype", "linux")
	version := APIVersion
	if m := versionedPath.FindStringSubmatch(r.URL.Path); m != nil {
		version = m[1]
		if compareVersions(version, APIVersion) > 0 {
			writeError(w, fmt.Errorf("client version %s is too new. Maximum supported API version is %s: %w", version, APIVersion, errdefs.ErrInvalidArgument))
			return
		}
		if compareVersions(version, MinAPIVersion) < 0 {
			writeError(w, fmt.Errorf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version: %w", version, MinAPIVersion, errdefs.ErrInvalidArgument))
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), versionKey{}, version))
		r2.URL.Path = m[2]
		r2.URL.RawPath = ""
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

// compareVersions compares two API versions "MAJOR.MINOR" numerically.
func compareVersions(a, b string) int {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := range 2 {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// handler is a route's function: an error it returns is answered in
// docker's JSON shape (unless the handler already wrote a response).
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			if errdefs.IsInternal(err) || status(err) == http.StatusInternalServerError {
				s.Log.Warn("engine API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	})
}

// status is docker's HTTP status for an error, by its errdefs class.
func status(err error) int {
	switch {
	case errdefs.IsNotFound(err):
		return http.StatusNotFound
	case errdefs.IsPermissionDenied(err):
		return http.StatusForbidden
	case errdefs.IsUnauthorized(err):
		return http.StatusUnauthorized
	case errdefs.IsInvalidArgument(err):
		return http.StatusBadRequest
	case errdefs.IsAlreadyExists(err), errdefs.IsConflict(err), errdefs.IsFailedPrecondition(err):
		return http.StatusConflict
	case errdefs.IsNotImplemented(err):
		return http.StatusNotImplemented
	case errdefs.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case errdefs.IsNotModified(err):
		return http.StatusNotModified
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// writeError answers with docker's error body.
func writeError(w http.ResponseWriter, err error) {
	code := status(err)
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, map[string]string{"message": errorMessage(err)})
}

// errorMessage is an error's text without the trailing ": <class>" that
// wrapping leaves.
func errorMessage(err error) string {
	msg := err.Error()
	for _, c := range []error{errdefs.ErrNotFound, errdefs.ErrInvalidArgument, errdefs.ErrAlreadyExists, errdefs.ErrConflict,
		errdefs.ErrFailedPrecondition, errdefs.ErrPermissionDenied, errdefs.ErrNotImplemented, errdefs.ErrUnavailable, errdefs.ErrUnauthenticated} {
		msg = strings.TrimSuffix(msg, ": "+c.Error())
	}
	return msg
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return jsonEncode(w, v)
}

// decodeBody reads a JSON request body into v strictly: at most MaxBody
// bytes, no unknown fields, one value. An empty body leaves v as it is
// when empty is true.
func decodeBody(r *http.Request, v any, empty bool) error {
	body := http.MaxBytesReader(nil, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && empty {
			return nil
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("request body is larger than %d bytes: %w", MaxBody, errdefs.ErrInvalidArgument)
		}
		return fmt.Errorf("invalid JSON in the request body: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if dec.More() {
		return fmt.Errorf("invalid JSON in the request body: more than one value: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// boolValue reads a boolean query parameter as docker does: absent, "",
// "0", "no", "false" and "none" are false; anything else is true.
func boolValue(r *http.Request, name string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(name))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// intValue reads an integer query parameter; absent or empty is def.
func intValue(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid value for %s: %q: %w", name, v, errdefs.ErrInvalidArgument)
	}
	return n, nil
}

// containerError puts docker's wording on the core's errors about ref
// ("No such container: ref"), which clients match.
func containerError(ref string, err error) error {
	if errors.Is(err, errs.NoSuchContainer) {
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	return err
}

// snapshot is the configuration of this moment.
func (s *Server) snapshot() *config.Snapshot { return s.Live.Load() }
