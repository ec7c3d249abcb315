package engineapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/berthd/berth/dockerview"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Until berth has networks of its own, a container has either a network
// namespace with loopback only ("none") or the host's ("host"); the
// configuration's default-network picks one for containers that ask for
// none in particular. The Engine API lists exactly these, as docker lists
// its predefined networks:
//
//   - "host" (driver host) and "none" (driver null);
//   - "bridge": docker's name for the default network on Linux, which
//     clients such as testcontainers look for before they create a
//     container without a network. It is berth's default network under
//     docker's name, and says what it really is: its driver is that of
//     default-network (null or host), it has no subnet, no gateway and no
//     addresses, and Options["io.berth.network.default"] names the network
//     it stands for. A create with NetworkMode "bridge", "default" or ""
//     gets the default network.
//
// Creating, removing, connecting and disconnecting networks answer 501
// until berth's network support arrives.
const (
	networkBridge = "bridge"
	networkHost   = "host"
	networkNone   = "none"
)

// networkNotYet is the answer for what needs networks of berth's own.
func networkNotYet(what string) error {
	return fmt.Errorf("%s: networks other than bridge (berth's default network), host and none arrive with berth's network support: %w", what, errdefs.ErrNotImplemented)
}

func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.networkList)
	s.handle("GET /networks/{id}", s.networkInspect)
	s.handle("POST /networks/create", func(w http.ResponseWriter, r *http.Request) error {
		return networkNotYet("network create")
	})
	s.handle("POST /networks/prune", s.networkPrune)
	s.handle("DELETE /networks/{id}", s.networkDelete)
	s.handle("POST /networks/{id}/connect", func(w http.ResponseWriter, r *http.Request) error {
		return networkNotYet("network connect " + r.PathValue("id"))
	})
	s.handle("POST /networks/{id}/disconnect", func(w http.ResponseWriter, r *http.Request) error {
		return networkNotYet("network disconnect " + r.PathValue("id"))
	})
}

// networkID is a predefined network's id: stable, 64 hex digits as
// docker's.
func networkID(name string) string {
	sum := sha256.Sum256([]byte("io.berth.network:" + name))
	return hex.EncodeToString(sum[:])
}

// networks are the predefined networks, bridge standing for the default
// network of this configuration.
func (s *Server) networks() []network.Inspect {
	def := s.snapshot().DefaultNetwork
	driver := func(mode string) string {
		if mode == networkHost {
			return "host"
		}
		return "null"
	}
	var out []network.Inspect
	for _, n := range []struct{ name, mode string }{{networkBridge, def}, {networkHost, networkHost}, {networkNone, networkNone}} {
		v := network.Inspect{
			Network: network.Network{
				Name: n.name, ID: networkID(n.name), Scope: "local", Driver: driver(n.mode),
				EnableIPv4: false, IPAM: network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
				Options: map[string]string{}, Labels: map[string]string{},
			},
			Containers: map[string]network.EndpointResource{},
		}
		if n.name == networkBridge {
			v.Options["io.berth.network.default"] = def
		} else {
			// A container on the default network shows under bridge's
			// name in docker, and under the mode it really got in berth
			// (its inspect says so too).
			for _, i := range s.Manager.List() {
				if dockerview.NetworkMode(i) == n.mode {
					v.Containers[i.ID] = network.EndpointResource{Name: i.Name}
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// findNetwork finds a predefined network by name, id or id prefix.
func (s *Server) findNetwork(ref string) (network.Inspect, error) {
	var found []network.Inspect
	for _, n := range s.networks() {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return network.Inspect{}, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
}

// networkList is GET /networks with docker's filters; berth's networks
// are all predefined ("builtin"), never dangling and without labels.
func (s *Server) networkList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r, "name", "id", "driver", "scope", "type", "label", "dangling")
	if err != nil {
		return err
	}
	oneOf := func(key string, ok func(v string) bool) bool {
		vals, has := f[key]
		return !has || slices.ContainsFunc(vals, ok)
	}
	for _, v := range f["type"] {
		if v != "builtin" && v != "custom" {
			return fmt.Errorf("invalid filter: 'type'='%s': %w", v, errdefs.ErrInvalidArgument)
		}
	}
	for _, v := range f["dangling"] {
		switch strings.ToLower(v) {
		case "true", "1", "false", "0":
		default:
			return fmt.Errorf("invalid filter 'dangling=%s': %w", v, errdefs.ErrInvalidArgument)
		}
	}
	out := []network.Summary{}
	for _, n := range s.networks() {
		if oneOf("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
			oneOf("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
			oneOf("driver", func(v string) bool { return v == n.Driver }) &&
			oneOf("scope", func(v string) bool { return v == n.Scope }) &&
			oneOf("type", func(v string) bool { return v == "builtin" }) &&
			oneOf("label", func(string) bool { return false }) &&
			oneOf("dangling", func(v string) bool { return v == "false" || v == "0" }) {
			out = append(out, network.Summary{Network: n.Network})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("scope") != "" && r.URL.Query().Get("scope") != "local" {
		return fmt.Errorf("network %s not found: %w", r.PathValue("id"), errdefs.ErrNotFound)
	}
	n, err := s.findNetwork(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

// networkDelete refuses, as docker does for its predefined networks.
func (s *Server) networkDelete(w http.ResponseWriter, r *http.Request) error {
	n, err := s.findNetwork(r.PathValue("id"))
	if err != nil {
		return err
	}
	return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrPermissionDenied)
}

// networkPrune has nothing to remove: berth has only predefined networks.
func (s *Server) networkPrune(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseFilters(r, "label", "label!", "until"); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: []string{}})
}

// networkFromCreate is the core's network for a create request's
// NetworkMode ("" for the default network) and checks NetworkingConfig:
// at most one endpoint, for that network, asking for nothing berth would
// have to ignore (aliases, addresses, links, driver options).
func networkFromCreate(mode container.NetworkMode, nc *network.NetworkingConfig) (string, error) {
	var core string
	switch m := string(mode); m {
	case "", "default", networkBridge:
	case networkHost, networkNone:
		core = m
	default:
		if strings.HasPrefix(m, "container:") {
			return "", fmt.Errorf("HostConfig.NetworkMode %q: sharing another container's network is not supported by berth: %w", m, errdefs.ErrInvalidArgument)
		}
		// docker's words, but 400 rather than its 404: the docker CLI
		// takes any 404 of a create for a missing image and pulls.
		return "", fmt.Errorf("network %s not found: %w", m, errdefs.ErrInvalidArgument)
	}
	if nc == nil {
		return core, nil
	}
	for name, ep := range nc.EndpointsConfig {
		same := name == string(mode) || (core == "" && (name == "default" || name == networkBridge))
		if !same {
			return "", fmt.Errorf("NetworkingConfig.EndpointsConfig: network %q: a container joins one network, its HostConfig.NetworkMode %q: %w", name, mode, errdefs.ErrInvalidArgument)
		}
		if !empty(reflect.ValueOf(ep)) {
			return "", fmt.Errorf("NetworkingConfig.EndpointsConfig[%q]: endpoint settings (aliases, addresses, links, driver options) are not supported by berth: %w", name, errdefs.ErrInvalidArgument)
		}
	}
	return core, nil
}
