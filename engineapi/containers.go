package engineapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/containerd/platforms"
	"github.com/moby/moby/api/types/network"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berthd/berth/dockerview"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

func (s *Server) routes() {
	s.handle("GET /_ping", s.ping)
	s.handle("GET /version", s.version)
	s.handle("GET /info", s.info)
	s.handle("GET /events", s.events)

	s.handle("POST /containers/create", s.containerCreate)
	s.handle("GET /containers/json", s.containerList)
	s.handle("GET /containers/{id}/json", s.containerInspect)
	s.handle("POST /containers/{id}/start", s.containerStart)
	s.handle("POST /containers/{id}/stop", s.containerStop)
	s.handle("POST /containers/{id}/restart", s.containerRestart)
	s.handle("POST /containers/{id}/kill", s.containerKill)
	s.handle("POST /containers/{id}/pause", s.containerPause)
	s.handle("POST /containers/{id}/unpause", s.containerUnpause)
	s.handle("POST /containers/{id}/rename", s.containerRename)
	s.handle("POST /containers/{id}/wait", s.containerWait)
	s.handle("POST /containers/{id}/attach", s.containerAttach)
	s.handle("POST /containers/{id}/resize", s.containerResize)
	s.handle("GET /containers/{id}/logs", s.containerLogs)
	s.handle("GET /containers/{id}/top", s.containerTop)
	s.handle("DELETE /containers/{id}", s.containerDelete)
	s.handle("POST /containers/prune", s.containerPrune)
	s.handle("POST /containers/{id}/update", s.containerUpdate)
}

// decodeNetworkingConfig reads a create request's NetworkingConfig
// strictly, except for keys beside EndpointsConfig whose value is null
// (docker-py 5 sends {"NAME": null}; dockerd ignores them).
func decodeNetworkingConfig(raw json.RawMessage) (*network.NetworkingConfig, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON in the request body: NetworkingConfig: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	for k, v := range m {
		if k != "EndpointsConfig" && string(v) == "null" {
			delete(m, k)
		}
	}
	b, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var nc network.NetworkingConfig
	if err := dec.Decode(&nc); err != nil {
		return nil, fmt.Errorf("invalid JSON in the request body: NetworkingConfig: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return &nc, nil
}

// lookup finds a container by id, id prefix or name.
func (s *Server) lookup(ref string) (lifecycle.Info, error) {
	info, err := s.Manager.Get(ref)
	return info, containerError(ref, err)
}

func (s *Server) containerCreate(w http.ResponseWriter, r *http.Request) error {
	// NetworkingConfig is read on its own: docker-py 5 puts the network's
	// name there with a null value beside EndpointsConfig, which dockerd
	// ignores (the network is in HostConfig.NetworkMode).
	var body struct {
		container.CreateRequest
		NetworkingConfig json.RawMessage
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	req := body.CreateRequest
	nc, err := decodeNetworkingConfig(body.NetworkingConfig)
	if err != nil {
		return err
	}
	req.NetworkingConfig = nc
	spec, err := specFromCreate(req)
	if err != nil {
		return err
	}
	if p := r.URL.Query().Get("platform"); p != "" {
		want, err := platforms.Parse(p)
		if err != nil {
			return fmt.Errorf("platform %q: %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
		if host := platforms.DefaultSpec(); !platforms.Only(host).Match(want) {
			return fmt.Errorf("platform %q: berth runs images of this host's platform only (%s): %w", p, platforms.Format(host), errdefs.ErrInvalidArgument)
		}
	}
	name := r.URL.Query().Get("name")
	name = strings.TrimPrefix(name, "/")
	info, err := s.Manager.Create(r.Context(), s.snapshot(), name, spec)
	if err != nil {
		switch {
		case errors.Is(err, errs.NoSuchImage):
			// The docker CLI pulls on a 404 and creates again.
			return fmt.Errorf("No such image: %s: %w", spec.Image, errdefs.ErrNotFound)
		case errors.Is(err, errs.NoSuchNetwork), errors.Is(err, errs.NoSuchContainer):
			// A network (or the container of --network container:NAME)
			// that does not exist: docker's words, but 400 rather than
			// its 404, which the docker CLI takes for a missing image
			// and pulls.
			msg := strings.TrimSuffix(err.Error(), ": "+errs.NoSuchNetwork.Error())
			return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
		case errors.Is(err, errs.NameInUse):
			holder := ""
			if other, gerr := s.Manager.Get(name); gerr == nil {
				holder = other.ID
			}
			return fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.: %w", name, holder, errdefs.ErrConflict)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, container.CreateResponse{ID: info.ID, Warnings: []string{}})
}

func (s *Server) containerInspect(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	v := dockerview.Inspect(info, s.Manager.ContainerDir(info.ID))
	v.ExecIDs = s.execIDs(info.ID)
	if boolValue(r, "size") {
		rw, rootfs, err := s.Manager.Sizes(info.ID)
		if err != nil {
			return containerError(ref, err)
		}
		v.SizeRw, v.SizeRootFs = &rw, &rootfs
	}
	b, err := dockerview.JSON(v, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}

func (s *Server) containerStart(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if r.ContentLength > 0 {
		// API < 1.24 took a HostConfig here; docker refuses it since.
		var hc map[string]any
		if err := decodeBody(r, &hc, true); err != nil {
			return err
		}
		if len(hc) > 0 {
			return fmt.Errorf("starting a container with a HostConfig is not supported: give it at create: %w", errdefs.ErrInvalidArgument)
		}
	}
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if info.State.Live() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	s.mu.Lock()
	attach := s.attaching[info.ID] > 0
	s.mu.Unlock()
	if _, err := s.Manager.Start(r.Context(), s.snapshot(), info.ID, lifecycle.StartOptions{Attach: attach}); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopTimeout reads the t (seconds) parameter; absent is the container's
// own stop timeout.
func stopTimeout(r *http.Request) (*int, error) {
	if r.URL.Query().Get("t") == "" {
		return nil, nil
	}
	t, err := intValue(r, "t", 0)
	if err != nil {
		return nil, err
	}
	if err := lifecycle.CheckStopTimeout("parameter t", t); err != nil {
		return nil, err
	}
	v := int(t)
	return &v, nil
}

func (s *Server) containerStop(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	t, err := stopTimeout(r)
	if err != nil {
		return err
	}
	sig := r.URL.Query().Get("signal")
	if sig != "" {
		if _, err := lifecycle.ParseSignal(sig); err != nil {
			return err
		}
	}
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if !info.State.Live() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if _, err := s.Manager.StopWith(r.Context(), info.ID, lifecycle.StopOptions{Timeout: t, Signal: sig}); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerRestart(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	t, err := stopTimeout(r)
	if err != nil {
		return err
	}
	o := lifecycle.StopOptions{Timeout: t, Signal: r.URL.Query().Get("signal")}
	if _, err := s.Manager.RestartWith(r.Context(), s.snapshot(), ref, o); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerKill(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if !info.State.Live() {
		return fmt.Errorf("Cannot kill container: %s: Container %s is not running: %w", ref, info.ID, errdefs.ErrConflict)
	}
	sig := r.URL.Query().Get("signal")
	if sig == "" {
		sig = "KILL"
	}
	if err := s.Manager.Kill(r.Context(), info.ID, sig); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerPause(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if err := s.Manager.Pause(r.Context(), ref); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerUnpause(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if err := s.Manager.Unpause(r.Context(), ref); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerRename(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	if _, err := s.Manager.Rename(r.Context(), ref, name); err != nil {
		if errors.Is(err, errs.NameInUse) {
			return fmt.Errorf("Error when allocating new name: Conflict. The container name \"/%s\" is already in use: %w", name, errdefs.ErrConflict)
		}
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerDelete(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if boolValue(r, "link") {
		return fmt.Errorf("links are not supported by berth: %w", errdefs.ErrInvalidArgument)
	}
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	force := boolValue(r, "force")
	if info.State.Live() && !force {
		verb := "stop"
		if info.State == lifecycle.Paused {
			verb = "unpause and then stop"
		}
		return fmt.Errorf("cannot remove container %q: container is %s: %s the container before removing or force remove: %w",
			"/"+info.Name, info.State, verb, errdefs.ErrConflict)
	}
	if err := s.Manager.RemoveWith(r.Context(), info.ID, lifecycle.RemoveOptions{Force: force, Volumes: boolValue(r, "v")}); err != nil {
		return containerError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerTop(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	var args []string
	if a := r.URL.Query().Get("ps_args"); a != "" {
		args = strings.Fields(a)
	}
	titles, procs, err := s.Manager.Top(r.Context(), ref, args)
	if err != nil {
		return containerError(ref, err)
	}
	if procs == nil {
		procs = [][]string{}
	}
	return writeJSON(w, http.StatusOK, container.TopResponse{Titles: titles, Processes: procs})
}

func (s *Server) containerPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r, "until", "label", "label!")
	if err != nil {
		return err
	}
	var in []string
	for k, vs := range f {
		for _, v := range vs {
			in = append(in, k+"="+v)
		}
	}
	pf, err := lifecycle.ParsePruneFilters(in, time.Now())
	if err != nil {
		return err
	}
	ids, reclaimed, err := s.Manager.Prune(r.Context(), pf)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return writeJSON(w, http.StatusOK, container.PruneReport{ContainersDeleted: ids, SpaceReclaimed: reclaimed})
}

// containerList is GET /containers/json: all, limit, size, filters.
func (s *Server) containerList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r, "id", "name", "label", "status", "ancestor", "volume", "exited", "before", "since",
		"network", "health", "publish", "expose", "is-task")
	if err != nil {
		return err
	}
	for _, st := range f["status"] {
		if err := container.ValidateContainerState(container.ContainerState(st)); err != nil {
			return fmt.Errorf("invalid filter 'status=%s': %w", st, errdefs.ErrInvalidArgument)
		}
	}
	var exited []int
	for _, e := range f["exited"] {
		var code int
		if _, err := fmt.Sscanf(e, "%d", &code); err != nil {
			return fmt.Errorf("invalid filter 'exited=%s': %w", e, errdefs.ErrInvalidArgument)
		}
		exited = append(exited, code)
	}
	limit, err := intValue(r, "limit", -1)
	if err != nil {
		return err
	}
	size := boolValue(r, "size")
	all := boolValue(r, "all") || limit > 0 || len(f["status"]) > 0 || len(exited) > 0
	infos := s.Manager.List()
	slices.Reverse(infos) // newest first, as docker
	var before, since time.Time
	for _, k := range []struct {
		name string
		t    *time.Time
	}{{"before", &before}, {"since", &since}} {
		for _, ref := range f[k.name] {
			other, err := s.lookup(ref)
			if err != nil {
				return err
			}
			*k.t = other.CreatedAt
		}
	}
	// A network named by id or id prefix matches under its name.
	if nets := s.Manager.Networks(); nets != nil {
		for _, v := range slices.Clone(f["network"]) {
			if n, err := nets.Get(v); err == nil && n.Name != v {
				f["network"] = append(f["network"], n.Name)
			}
		}
	}
	now := time.Now()
	out := []container.Summary{}
	for _, i := range infos {
		if !all && !i.State.Live() {
			continue
		}
		if !before.IsZero() && !i.CreatedAt.Before(before) || !since.IsZero() && !i.CreatedAt.After(since) {
			continue
		}
		if !matchList(f, exited, i) {
			continue
		}
		sum := dockerview.Summary(i, now)
		if i.Spec.ImageID != "" {
			// As docker: the name given at create while it still names
			// the container's image, else the image's id.
			if img, err := s.Images.Get(i.Spec.Image); err != nil || img.ID.String() != i.Spec.ImageID {
				sum.Image = i.Spec.ImageID
			}
		}
		if size {
			if rw, rootfs, err := s.Manager.Sizes(i.ID); err == nil {
				sum.SizeRw, sum.SizeRootFs = rw, rootfs
			}
		}
		out = append(out, sum)
		if limit > 0 && len(out) == int(limit) {
			break
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// matchList applies docker's list filters: values of one key are ORed,
// keys are ANDed (label values are ANDed, as docker).
func matchList(f map[string][]string, exited []int, i lifecycle.Info) bool {
	any := func(key string, ok func(v string) bool) bool {
		vs := f[key]
		if len(vs) == 0 {
			return true
		}
		return slices.ContainsFunc(vs, ok)
	}
	if !any("id", func(v string) bool { return strings.HasPrefix(i.ID, v) }) {
		return false
	}
	if !any("name", func(v string) bool {
		re, err := regexp.Compile(strings.TrimPrefix(v, "/"))
		return err == nil && re.MatchString(i.Name)
	}) {
		return false
	}
	if !any("status", func(v string) bool { return v == i.State.String() }) {
		return false
	}
	if !any("ancestor", func(v string) bool {
		return v == i.Spec.Image || v == i.Spec.ImageID || strings.TrimPrefix(i.Spec.ImageID, "sha256:") == strings.TrimPrefix(v, "sha256:") ||
			!strings.Contains(v, ":") && i.Spec.Image == v+":latest"
	}) {
		return false
	}
	if !any("volume", func(v string) bool {
		return slices.ContainsFunc(i.Spec.MountPoints, func(mp lifecycle.MountPoint) bool {
			return mp.Name == v || mp.Destination == v || mp.Source == v
		})
	}) {
		return false
	}
	if len(exited) > 0 && (i.State != lifecycle.Exited || !slices.Contains(exited, i.ExitCode)) {
		return false
	}
	if !any("network", func(v string) bool {
		_, on := i.Spec.Endpoints[v]
		return on || v == dockerview.NetworkMode(i)
	}) {
		return false
	}
	// No swarm tasks: is-task=false matches every container, true none.
	if !any("health", func(v string) bool { return v == dockerview.HealthStatus(i) }) || !any("is-task", func(v string) bool { return v == "false" }) {
		return false
	}
	published, exposed := containerPorts(i)
	if !any("publish", func(v string) bool { return portsMatch(v, published) }) ||
		!any("expose", func(v string) bool { return portsMatch(v, exposed) }) {
		return false
	}
	for _, l := range f["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := i.Spec.Labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

// containerPorts are the container ports ("80/tcp") a container
// publishes (asked for, and given by -P while it runs) and those it
// exposes (published ones included), as docker's publish and expose
// filters see them.
func containerPorts(i lifecycle.Info) (published, exposed []string) {
	for k := range i.Spec.PortBindings {
		published = append(published, k)
	}
	if i.Network != nil {
		for _, p := range i.Network.Ports {
			published = append(published, p.Key())
		}
	}
	return published, append(slices.Clone(i.Spec.ExposedPorts), published...)
}

// portsMatch reports whether a publish or expose filter value (PORT,
// PORT/PROTO or START-END[/PROTO]) takes one of ports.
func portsMatch(v string, ports []string) bool {
	r, err := network.ParsePortRange(v)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(ports, func(k string) bool {
		p, err := network.ParsePort(k)
		return err == nil && p.Proto() == r.Proto() && p.Num() >= r.Start() && p.Num() <= r.End()
	})
}

// containerWait is POST /containers/{id}/wait: condition not-running (the
// default), next-exit or removed. The waiter is registered and the
// response headers are flushed before anything else, so that a client
// that starts the container after this call returned its headers never
// misses the exit.
func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		return fmt.Errorf("invalid condition: %q: %w", cond, errdefs.ErrInvalidArgument)
	}
	info, err := s.lookup(ref)
	if err != nil {
		return err
	}
	wt, done := s.watch(info.ID)
	defer done()
	// Read again now that the waiter is in place: nothing is missed
	// between the two.
	info, err = s.lookup(info.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	code, werr := s.waitFor(r.Context(), wt, info, cond)
	resp := container.WaitResponse{StatusCode: int64(code)}
	if werr != nil {
		if r.Context().Err() != nil {
			return nil // the client left
		}
		resp.Error = &container.WaitExitError{Message: werr.Error()}
	}
	return jsonEncode(w, resp)
}

// ended reports whether a container's attempt is over for docker's
// next-exit wait: not live, or waiting to be restarted by its policy
// (docker releases waiters at each restart).
func ended(i lifecycle.Info) bool { return !i.State.Live() || i.State == lifecycle.Restarting }

// waitFor waits until cond holds for the container of info and returns its
// exit code. Events wake it; the state is read again after each and every
// second, so a missed event only delays it.
func (s *Server) waitFor(ctx context.Context, wt *waiter, info lifecycle.Info, cond container.WaitCondition) (int, error) {
	start := info.FinishedAt
	last := info
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		cur, err := s.Manager.Get(info.ID)
		gone := err != nil
		if !gone {
			last = cur
		} else {
			// The events of its end were sent before it was
			// forgotten: they are in the channel already.
		drain:
			for {
				select {
				case ev := <-wt.ch:
					last = ev.Info
				default:
					break drain
				}
			}
		}
		switch cond {
		case container.WaitConditionRemoved:
			if gone {
				return last.ExitCode, nil
			}
		case container.WaitConditionNextExit:
			if gone {
				return last.ExitCode, nil
			}
			if ended(cur) && cur.FinishedAt.After(start) {
				return cur.ExitCode, nil
			}
		default:
			// A container waiting to be restarted counts as running
			// (docker's): its wait ends at the next exit.
			if gone || !cur.State.Live() || (cur.State == lifecycle.Restarting && cur.FinishedAt.After(start)) {
				return last.ExitCode, nil
			}
		}
		select {
		case ev := <-wt.ch:
			last = ev.Info
			// A restart by policy may be over by the next read: its
			// event tells of the attempt's end.
			if ev.Info.State == lifecycle.Restarting && cond != container.WaitConditionRemoved && ev.Info.FinishedAt.After(start) {
				return ev.Info.ExitCode, nil
			}
		case <-tick.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}
