package engineapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/berthd/berth/errs"
	"github.com/moby/moby/api/types/container"
)

// fsRoutes are the endpoints that read a container's file system and
// cgroup through the core: changes (docker diff), export and stats.
func (s *Server) fsRoutes() {
	s.handle("GET /containers/{id}/changes", s.containerChanges)
	s.handle("GET /containers/{id}/export", s.containerExport)
	s.handle("GET /containers/{id}/stats", s.containerStats)
}

func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	ch, err := s.Manager.Changes(r.Context(), ref)
	if err != nil {
		return containerError(ref, err)
	}
	if ch == nil {
		ch = []container.FilesystemChange{}
	}
	return writeJSON(w, http.StatusOK, ch)
}

func (s *Server) containerExport(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	rc, err := s.Manager.Export(r.Context(), ref)
	if err != nil {
		return containerError(ref, err)
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		s.Log.Debug("export ended early", "container", ref, "err", err)
	}
	return nil
}

// containerStats is GET /containers/{id}/stats: with stream (docker's
// default) one reading a second until the client leaves or the container
// is removed; without it one reading, taken a second after a first one so
// that its precpu figures give a CPU percentage (docker's behaviour),
// unless one-shot asks for the first at once.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	stream := true
	if r.URL.Query().Has("stream") {
		stream = boolValue(r, "stream")
	}
	oneShot := boolValue(r, "one-shot")
	st, err := s.Manager.Stats(r.Context(), ref)
	if err != nil {
		return containerError(ref, err)
	}
	if !stream && !oneShot {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return nil
		}
		if st, err = s.Manager.Stats(r.Context(), ref); err != nil {
			return containerError(ref, err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := enc.Encode(st); err != nil {
			return nil
		}
		if !stream {
			return nil
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return nil
		}
		st, err = s.Manager.Stats(r.Context(), ref)
		if errors.Is(err, errs.NoSuchContainer) {
			return nil // removed: the stream ends
		}
		if err != nil {
			return nil
		}
	}
}
