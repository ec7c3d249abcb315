package engineapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berthd/berth/dockerview"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/lifecycle"
	berthnet "github.com/berthd/berth/network"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// The /networks endpoints are thin over package network (the networks'
// records, addresses and attachments) and lifecycle (a container's
// networks): docker's shapes and status codes, with docker's wording
// where clients match on it ("network X not found", "already exists",
// "has active endpoints").
func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.networkList)
	s.handle("GET /networks/{id}", s.networkInspect)
	s.handle("POST /networks/create", s.networkCreate)
	s.handle("POST /networks/prune", s.networkPrune)
	s.handle("DELETE /networks/{id}", s.networkDelete)
	s.handle("POST /networks/{id}/connect", s.networkConnect)
	s.handle("POST /networks/{id}/disconnect", s.networkDisconnect)
}

// nets is the engine's network manager.
func (s *Server) nets() (*berthnet.Manager, error) {
	if n := s.Manager.Networks(); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("networks are not available on this engine: %w", errdefs.ErrNotImplemented)
}

// networkError gives a missing network docker's words ("network X not
// found", 404); other errors pass.
func networkError(ref string, err error) error {
	if errors.Is(err, errs.NoSuchNetwork) {
		return fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
	}
	return err
}

// networkList is GET /networks with docker's filters (network.Filters).
func (s *Server) networkList(w http.ResponseWriter, r *http.Request) error {
	raw, err := parseFilters(r, "name", "id", "driver", "scope", "type", "label", "dangling")
	if err != nil {
		return err
	}
	f, err := berthnet.ParseFilters(coreFilters(raw))
	if err != nil {
		return err
	}
	nets, err := s.nets()
	if err != nil {
		return err
	}
	out := []network.Summary{}
	infos := s.Manager.List()
	for _, n := range nets.List() {
		v := dockerview.NetworkOf(n, nets.Users(n.ID), infos)
		if f.Match(n, len(v.Containers)) {
			out = append(out, network.Summary{Network: v.Network})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if sc := r.URL.Query().Get("scope"); sc != "" && sc != "local" {
		return fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
	}
	nets, err := s.nets()
	if err != nil {
		return err
	}
	n, err := nets.Get(ref)
	if err != nil {
		return networkError(ref, err)
	}
	return writeJSON(w, http.StatusOK, dockerview.NetworkOf(n, nets.Users(n.ID), s.Manager.List()))
}

// networkCreateRequest is docker's network.CreateRequest with the IPAM
// addresses as text (so that a bad subnet gets the core's message naming
// it, not a JSON error) and CheckDuplicate, which clients of API < 1.44
// send (berth never gives a name twice).
type networkCreateRequest struct {
	Name           string
	CheckDuplicate *bool
	Driver         string
	Scope          string
	EnableIPv4     *bool
	EnableIPv6     *bool
	IPAM           *struct {
		Driver  string
		Options map[string]string
		Config  []struct {
			Subnet, IPRange, Gateway string
			AuxiliaryAddresses       map[string]string
		}
	}
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigOnly bool
	ConfigFrom *network.ConfigReference
	Options    map[string]string
	Labels     map[string]string
}

// createOptions is the core's CreateOptions for req; what berth does not
// have is refused by name.
func (req networkCreateRequest) createOptions() (berthnet.CreateOptions, error) {
	o := berthnet.CreateOptions{Name: req.Name, Driver: req.Driver, Internal: req.Internal, Labels: req.Labels, Options: req.Options}
	var bad []string
	if req.Scope != "" && req.Scope != "local" {
		bad = append(bad, fmt.Sprintf("Scope %q (berth's networks are local)", req.Scope))
	}
	if req.EnableIPv4 != nil && !*req.EnableIPv4 {
		bad = append(bad, "EnableIPv4 false")
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		bad = append(bad, "EnableIPv6")
	}
	// Attachable (compose sets it) is what every berth network is:
	// standalone containers join it. Accepted, as dockerd does for a
	// local bridge.
	if req.Ingress {
		bad = append(bad, "Ingress")
	}
	if req.ConfigOnly {
		bad = append(bad, "ConfigOnly")
	}
	if req.ConfigFrom != nil && req.ConfigFrom.Network != "" {
		bad = append(bad, "ConfigFrom")
	}
	if ipam := req.IPAM; ipam != nil {
		if ipam.Driver != "" && ipam.Driver != "default" {
			bad = append(bad, fmt.Sprintf("IPAM.Driver %q", ipam.Driver))
		}
		if len(ipam.Options) > 0 {
			bad = append(bad, "IPAM.Options")
		}
		switch len(ipam.Config) {
		case 0:
		case 1:
			c := ipam.Config[0]
			o.Subnet, o.Gateway, o.IPRange = c.Subnet, c.Gateway, c.IPRange
			if len(c.AuxiliaryAddresses) > 0 {
				bad = append(bad, "IPAM.Config.AuxiliaryAddresses")
			}
		default:
			bad = append(bad, "more than one IPAM.Config (a network has one subnet)")
		}
	}
	if len(bad) > 0 {
		return o, fmt.Errorf("network %s: not supported by berth: %s: %w", req.Name, strings.Join(bad, ", "), errdefs.ErrInvalidArgument)
	}
	return o, nil
}

// networkCreate is POST /networks/create: a bridge network (201). A name
// in use, the predefined ones included, is docker's 409.
func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req networkCreateRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	o, err := req.createOptions()
	if err != nil {
		return err
	}
	nets, err := s.nets()
	if err != nil {
		return err
	}
	if slices.Contains([]string{berthnet.Bridge, berthnet.Host, berthnet.None}, o.Name) {
		return fmt.Errorf("network with name %s already exists: %w", o.Name, errdefs.ErrConflict)
	}
	n, err := nets.Create(o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, network.CreateResponse{ID: n.ID, Warning: ""})
}

// networkDelete is DELETE /networks/{id}: 404 for an unknown network,
// 403 for a predefined one, 409 while containers are attached.
func (s *Server) networkDelete(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	if err := s.Manager.RemoveNetwork(r.Context(), ref); err != nil {
		if errdefs.IsPermissionDenied(err) {
			return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", ref, errdefs.ErrPermissionDenied)
		}
		return networkError(ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// networkPrune removes the user-defined networks no container is
// attached to that pass the filters (until, label, label!).
func (s *Server) networkPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r, "label", "label!", "until")
	if err != nil {
		return err
	}
	pf, err := lifecycle.ParsePruneFilters(coreFilters(f), time.Now())
	if err != nil {
		return err
	}
	names, err := s.Manager.PruneNetworks(r.Context(), func(n *berthnet.Network) bool { return pf.Match(n.Created, n.Labels) })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: dockerview.OrEmpty(names)})
}

// networkConnect is POST /networks/{id}/connect: Aliases and
// IPAMConfig.IPv4Address of the endpoint are taken, the rest refused by
// name. A running container joins at once, a stopped one at its next
// start.
func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	var req network.ConnectRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	cfg, err := endpointConfig("EndpointConfig", req.EndpointConfig)
	if err != nil {
		return err
	}
	nets, err := s.nets()
	if err != nil {
		return err
	}
	n, err := nets.Get(ref)
	if err != nil {
		return networkError(ref, err)
	}
	if _, err := s.Manager.ConnectNetwork(r.Context(), req.Container, n.ID, cfg); err != nil {
		return networkError(ref, containerError(req.Container, err))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkDisconnect is POST /networks/{id}/disconnect. Force changes
// nothing: a disconnect never waits for anything it could skip.
func (s *Server) networkDisconnect(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	var req network.DisconnectRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if _, err := s.nets(); err != nil {
		return err
	}
	if _, err := s.Manager.DisconnectNetwork(r.Context(), req.Container, ref); err != nil {
		return networkError(ref, containerError(req.Container, err))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// endpointConfig is the core's endpoint settings for docker's: Aliases
// and IPAMConfig.IPv4Address; the other settings a client can ask for
// (links, a MAC or IPv6 address, driver options, a gateway priority)
// are refused by name, the operational fields ignored as docker does.
func endpointConfig(where string, ep *network.EndpointSettings) (berthnet.EndpointConfig, error) {
	var c berthnet.EndpointConfig
	if ep == nil {
		return c, nil
	}
	bad := askedFields(where+".", ep, "Aliases", "IPAMConfig",
		// Operational data, which clients send back zero or as inspect
		// gave it.
		"NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address",
		"GlobalIPv6PrefixLen", "DNSNames")
	if ipam := ep.IPAMConfig; ipam != nil {
		bad = append(bad, askedFields(where+".IPAMConfig.", ipam, "IPv4Address")...)
		if ipam.IPv4Address.IsValid() {
			if !ipam.IPv4Address.Is4() {
				return c, fmt.Errorf("%s.IPAMConfig.IPv4Address %s: not an IPv4 address: %w", where, ipam.IPv4Address, errdefs.ErrInvalidArgument)
			}
			c.IPv4Address = ipam.IPv4Address.String()
		}
	}
	if len(bad) > 0 {
		return c, fmt.Errorf("not supported by berth: %s: %w", strings.Join(bad, ", "), errdefs.ErrInvalidArgument)
	}
	c.Aliases = slices.Clone(ep.Aliases)
	return c, nil
}

// networkFromCreate is the core's network mode and endpoints for a
// create request's NetworkMode and NetworkingConfig, as dockerd reads
// them: "" and "default" are the configuration's default-network;
// endpoints are keyed by network name, "" for the mode's own network; a
// null endpoint joins its network with no settings. Without a mode of its
// own, a container with endpoints joins their networks only (the first by
// name is its primary one), not the default network too.
func networkFromCreate(mode container.NetworkMode, nc *network.NetworkingConfig) (string, map[string]berthnet.EndpointConfig, error) {
	m := string(mode)
	if m == network.NetworkDefault {
		m = ""
	}
	if nc == nil || len(nc.EndpointsConfig) == 0 {
		return m, nil, nil
	}
	eps := map[string]berthnet.EndpointConfig{}
	for _, name := range sortedKeys(nc.EndpointsConfig) {
		key := name
		if m != "" && name == m || m == "" && name == network.NetworkDefault {
			key = ""
		}
		if _, dup := eps[key]; dup {
			return "", nil, fmt.Errorf("NetworkingConfig.EndpointsConfig: network %q: named twice: %w", name, errdefs.ErrInvalidArgument)
		}
		cfg, err := endpointConfig(fmt.Sprintf("NetworkingConfig.EndpointsConfig[%q]", name), nc.EndpointsConfig[name])
		if err != nil {
			return "", nil, err
		}
		eps[key] = cfg
	}
	if _, own := eps[""]; m == "" && !own {
		first := sortedKeys(eps)[0]
		m, eps[""] = first, eps[first]
		delete(eps, first)
	}
	return m, eps, nil
}

// portBindings is the core's port map for docker's.
func portBindings(pm network.PortMap) berthnet.PortMap {
	if len(pm) == 0 {
		return nil
	}
	out := berthnet.PortMap{}
	for p, l := range pm {
		bs := []berthnet.PortBinding{}
		for _, b := range l {
			pb := berthnet.PortBinding{HostPort: b.HostPort}
			if b.HostIP.IsValid() {
				pb.HostIP = b.HostIP.String()
			}
			bs = append(bs, pb)
		}
		out[p.String()] = bs
	}
	return out
}

// exposedPorts is the core's list for docker's port set, sorted.
func exposedPorts(ps network.PortSet) []string {
	var out []string
	for p := range ps {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}
