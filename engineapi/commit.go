package engineapi

import (
	"fmt"
	"net/http"

	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/container"
)

// commit is POST /commit: container, repo, tag, comment, author, pause
// (docker's default: pause a running container), changes (Dockerfile
// instructions, repeated). A Config in the body would be merged into the
// image's config by dockerd; berth takes the same through changes and
// refuses a non-empty body rather than ignore it.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref := q.Get("container")
	if ref == "" {
		return fmt.Errorf("Bad parameters: container must be given: %w", errdefs.ErrInvalidArgument)
	}
	var cfg *container.Config
	if err := decodeBody(r, &cfg, true); err != nil {
		return err
	}
	if cfg != nil && !empty(reflectValue(cfg)) {
		return fmt.Errorf("a Config in the commit request is not supported by berth: give the changes as Dockerfile instructions (changes=…, docker commit --change): %w", errdefs.ErrInvalidArgument)
	}
	o := lifecycle.CommitOptions{Author: q.Get("author"), Comment: q.Get("comment"), Changes: q["changes"], Pause: true}
	if q.Has("pause") {
		o.Pause = boolValue(r, "pause")
	}
	repo, tag := q.Get("repo"), q.Get("tag")
	switch {
	case repo == "" && tag != "":
		return fmt.Errorf("invalid reference: tag %q given without a repository: %w", tag, errdefs.ErrInvalidArgument)
	case tag != "":
		o.Reference = repo + ":" + tag
	default:
		o.Reference = repo
	}
	id, err := s.Manager.Commit(r.Context(), ref, o)
	if err != nil {
		return containerError(ref, err)
	}
	return writeJSON(w, http.StatusCreated, common.IDResponse{ID: id})
}
