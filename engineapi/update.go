package engineapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// containerUpdate is POST /containers/{id}/update: docker's UpdateConfig.
// As in docker's API a zero value leaves a limit unchanged (docker update
// sends only what was given) and PidsLimit 0 or -1 removes that limit.
// Limits berth does not set are refused by name; RestartPolicy (when it
// names one) is set as `update --restart` does.
func (s *Server) containerUpdate(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	var req container.UpdateConfig
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	res := req.Resources
	bad := askedFields("Resources.", &res, "Memory", "NanoCPUs", "CPUShares", "PidsLimit", "MemorySwap")
	if !defaultSwap(res.Memory, res.MemorySwap) {
		bad = append(bad, "Resources.MemorySwap")
	}
	if len(bad) > 0 {
		return fmt.Errorf("not supported by berth: %s: %w", strings.Join(bad, ", "), errdefs.ErrInvalidArgument)
	}
	// An empty name leaves the policy as it is (docker update sends one
	// only with --restart).
	var policy *lifecycle.RestartPolicy
	if req.RestartPolicy.Name != "" {
		p := lifecycle.RestartPolicy{Name: string(req.RestartPolicy.Name), MaximumRetryCount: req.RestartPolicy.MaximumRetryCount}
		if err := lifecycle.CheckRestartPolicy(p); err != nil {
			return err
		}
		policy = &p
	}
	var u lifecycle.Resources
	for _, f := range []struct {
		name string
		v    int64
		dst  **uint64
	}{{"Memory", res.Memory, &u.Memory}, {"NanoCpus", res.NanoCPUs, &u.NanoCPUs}, {"CpuShares", res.CPUShares, &u.CPUShares}} {
		if f.v < 0 {
			return fmt.Errorf("%s: %d: must not be negative: %w", f.name, f.v, errdefs.ErrInvalidArgument)
		}
		if f.v > 0 {
			v := uint64(f.v)
			*f.dst = &v
		}
	}
	if p := res.PidsLimit; p != nil {
		v := uint64(0)
		if *p > 0 {
			v = uint64(*p)
		}
		u.PidsLimit = &v
	}
	if u != (lifecycle.Resources{}) || policy == nil {
		if _, err := s.Manager.Update(r.Context(), ref, u); err != nil {
			return containerError(ref, err)
		}
	}
	if policy != nil {
		if _, err := s.Manager.SetRestartPolicy(r.Context(), ref, *policy); err != nil {
			return containerError(ref, err)
		}
	}
	return writeJSON(w, http.StatusOK, container.UpdateResponse{Warnings: []string{}})
}
