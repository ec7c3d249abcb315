package engineapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"
)

func (s *Server) volumeRoutes() {
	s.handle("GET /volumes", s.volumeList)
	s.handle("POST /volumes/create", s.volumeCreate)
	s.handle("POST /volumes/prune", s.volumePrune)
	s.handle("GET /volumes/{name}", s.volumeInspect)
	s.handle("DELETE /volumes/{name}", s.volumeDelete)
}

// needVolumes refuses when berthd has no volume store, and waits until
// the container records are read: only then does the store know every
// user of a volume (dangling, in use).
func (s *Server) needVolumes() error {
	if s.Volumes == nil {
		return fmt.Errorf("volumes are not available: %w", errdefs.ErrNotImplemented)
	}
	return s.Manager.WaitLoaded()
}

// volumeView is a volume in docker's shape; maps are {} rather than null.
func volumeView(v volumes.Volume) volume.Volume {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return volume.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		CreatedAt:  v.CreatedAt.Format(time.RFC3339),
		Labels:     labels,
		Options:    map[string]string{},
		Scope:      "local",
	}
}

// volumeError puts docker's wording on the core's errors about volume
// name, for the operation op ("get", "remove"): clients show it as is.
func (s *Server) volumeError(op, name string, err error) error {
	switch {
	case errors.Is(err, errs.NoSuchVolume):
		return fmt.Errorf("%s %s: no such volume: %w", op, name, errdefs.ErrNotFound)
	case errdefs.IsConflict(err) && op == "remove":
		return fmt.Errorf("remove %s: volume is in use - [%s]: %w", name, strings.Join(s.Volumes.Users(name), ", "), errdefs.ErrConflict)
	}
	return err
}

// coreFilters turns docker's filters into the core's KEY=VALUE ones.
func coreFilters(f map[string][]string) []string {
	var out []string
	for _, k := range sortedKeys(f) {
		for _, v := range f[k] {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func (s *Server) volumeList(w http.ResponseWriter, r *http.Request) error {
	if err := s.needVolumes(); err != nil {
		return err
	}
	f, err := parseFilters(r, "name", "label", "dangling", "driver")
	if err != nil {
		return err
	}
	list, err := s.Volumes.List(coreFilters(f))
	if err != nil {
		return err
	}
	resp := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, e := range list {
		resp.Volumes = append(resp.Volumes, volumeView(e.Volume))
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) volumeCreate(w http.ResponseWriter, r *http.Request) error {
	if err := s.needVolumes(); err != nil {
		return err
	}
	var req volume.CreateRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if req.ClusterVolumeSpec != nil {
		return fmt.Errorf("ClusterVolumeSpec: cluster volumes are swarm's, not supported by berth: %w", errdefs.ErrInvalidArgument)
	}
	v, _, err := s.Volumes.Create(volumes.CreateOptions{Name: req.Name, Driver: req.Driver, Labels: req.Labels, DriverOpts: req.DriverOpts})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, volumeView(v))
}

func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request) error {
	if err := s.needVolumes(); err != nil {
		return err
	}
	name := r.PathValue("name")
	v, err := s.Volumes.Get(name)
	if err != nil {
		return s.volumeError("get", name, err)
	}
	return writeJSON(w, http.StatusOK, volumeView(v))
}

// volumeDelete removes a volume. force also removes one that stopped
// containers use (a later start of theirs makes it again, empty), never
// one a running container uses; and a missing volume is no error then,
// as docker's.
func (s *Server) volumeDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.needVolumes(); err != nil {
		return err
	}
	name := r.PathValue("name")
	force := boolValue(r, "force")
	err := s.Volumes.Remove(r.Context(), name, force, s.Manager.VolumeUserActive)
	if errors.Is(err, errs.NoSuchVolume) && force {
		err = nil
	}
	if err != nil {
		op := "remove"
		if errors.Is(err, errs.NoSuchVolume) {
			op = "get"
		}
		return s.volumeError(op, name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// volumePrune removes unused volumes: anonymous ones, or all of them with
// the filter all=true, and for clients older than API 1.42 (docker's rule:
// those pruned named volumes too).
func (s *Server) volumePrune(w http.ResponseWriter, r *http.Request) error {
	if err := s.needVolumes(); err != nil {
		return err
	}
	f, err := parseFilters(r, "label", "label!", "all")
	if err != nil {
		return err
	}
	all := compareVersions(apiVersion(r.Context()), "1.42") < 0
	for _, v := range f["all"] {
		switch strings.ToLower(v) {
		case "1", "true":
			all = true
		case "0", "false":
			all = false
		default:
			return fmt.Errorf("invalid filter 'all=%s': want true or false: %w", v, errdefs.ErrInvalidArgument)
		}
	}
	delete(f, "all")
	p, err := s.Volumes.Prune(r.Context(), all, coreFilters(f))
	if err != nil {
		return err
	}
	report := volume.PruneReport{VolumesDeleted: p.Names, SpaceReclaimed: p.Bytes}
	if report.VolumesDeleted == nil {
		report.VolumesDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, report)
}
