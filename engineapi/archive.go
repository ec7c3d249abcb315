package engineapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// archiveRoutes are the endpoints of a container's file system: docker
// cp's over the core's ArchiveStat, ArchiveGet and ArchivePut (paths
// resolve inside the container's root), and commit.
func (s *Server) archiveRoutes() {
	s.handle("HEAD /containers/{id}/archive", s.archiveHead)
	s.handle("GET /containers/{id}/archive", s.archiveGet)
	s.handle("PUT /containers/{id}/archive", s.archivePut)
	s.handle("POST /commit", s.commit)
}

// pathStatHeader is docker's header carrying a container.PathStat as
// base64 JSON.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func setPathStat(w http.ResponseWriter, st container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", fmt.Errorf("Bad parameters: path must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	return p, nil
}

func (s *Server) archiveHead(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.Manager.ArchiveStat(r.Context(), ref, p)
	if err != nil {
		return containerError(ref, err)
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) archiveGet(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	rc, st, err := s.Manager.ArchiveGet(r.Context(), ref, p)
	if err != nil {
		return containerError(ref, err)
	}
	defer rc.Close()
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, rc)
	if err != nil {
		s.Log.Debug("archive download ended early", "container", ref, "path", p, "err", err)
	}
	return nil
}

func (s *Server) archivePut(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	o := lifecycle.PutOptions{NoOverwriteDirNonDir: boolValue(r, "noOverwriteDirNonDir"), CopyUIDGID: boolValue(r, "copyUIDGID")}
	if err := s.Manager.ArchivePut(r.Context(), ref, p, r.Body, o); err != nil {
		if errdefs.IsFailedPrecondition(err) {
			// A read-only root file system or mount: docker's 403.
			return fmt.Errorf("%w: %w", err, errdefs.ErrPermissionDenied)
		}
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
