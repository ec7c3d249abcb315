package dbusapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/dockerview"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/network"
	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Network objects.
const (
	NetworkInterface = contract.NetworkInterface
	networkPrefix    = "/io/berth/Engine1/network/"
)

// NetworkPath is the object path of a network (by name, as volumes).
func NetworkPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(networkPrefix + sd.PathBusEscape(name))
}

// NetworkEntry is one row of ListNetworks.
type NetworkEntry = contract.NetworkEntry

// subnetOf is n's subnet and gateway as text ("" for host and none).
func subnetOf(n *network.Network) (subnet, gateway string) {
	if len(n.Subnets) == 0 {
		return "", ""
	}
	return n.Subnets[0].Subnet.String(), n.Subnets[0].Gateway.String()
}

func networkProps(n *network.Network) map[string]any {
	subnet, gw := subnetOf(n)
	return map[string]any{
		"Id":         n.ID,
		"Name":       n.Name,
		"Driver":     n.Driver,
		"Interface":  n.Interface,
		"Subnet":     subnet,
		"Gateway":    gw,
		"Internal":   n.Internal,
		"DNSEnabled": n.DNSEnabled,
		"Labels":     dockerview.OrEmptyMap(n.Labels),
		"Options":    dockerview.OrEmptyMap(n.Options),
		"Created":    micros(n.Created),
	}
}

func (s *Server) nets() *network.Manager { return s.mgr.Networks() }

// syncNetworks makes the exported network objects match the networks
// and emits NetworkNew / NetworkRemoved; it runs after every change
// (network.Manager.OnChange), whichever edge made it. A network's
// properties never change; a name taken by a new network is a new
// object.
func (s *Server) syncNetworks() {
	nm := s.nets()
	if nm == nil {
		return
	}
	list := nm.List()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.networkObjs == nil {
		s.networkObjs = map[string]string{}
	}
	seen := map[string]string{}
	for _, n := range list {
		seen[n.Name] = n.ID
	}
	for name, id := range s.networkObjs {
		if seen[name] == id {
			continue
		}
		path := NetworkPath(name)
		delete(s.networkObjs, name)
		s.conn.Export(nil, path, "org.freedesktop.DBus.Properties")
		s.conn.Export(nil, path, "org.freedesktop.DBus.Introspectable")
		s.conn.Emit(ManagerPath, ManagerInterface+".NetworkRemoved", name, path)
	}
	for _, n := range list {
		if _, ok := s.networkObjs[n.Name]; ok {
			continue
		}
		pm := prop.Map{NetworkInterface: {}}
		for k, v := range networkProps(n) {
			pm[NetworkInterface][k] = &prop.Prop{Value: v, Emit: prop.EmitConst}
		}
		path := NetworkPath(n.Name)
		if _, err := prop.Export(s.conn, path, pm); err != nil {
			s.log.Error("cannot export network", "network", n.Name, "err", err)
			continue
		}
		s.conn.Export(introspectable{iface: NetworkInterface}, path, "org.freedesktop.DBus.Introspectable")
		s.networkObjs[n.Name] = n.ID
		s.conn.Emit(ManagerPath, ManagerInterface+".NetworkNew", n.Name, path)
	}
}

func (s *Server) networkNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.networkObjs {
		out = append(out, string(NetworkPath(n))[len(networkPrefix):])
	}
	return out
}

// needNetworks refuses when networks are unavailable and waits until the
// container records are read and the networks of runs that ended are
// torn down: only then are a network's users known.
func (m *manager) needNetworks() (*network.Manager, error) {
	nm := m.s.nets()
	if nm == nil {
		return nil, fmt.Errorf("networks are not available: %w", errdefs.ErrNotImplemented)
	}
	return nm, m.s.mgr.WaitLoaded()
}

func networkEntry(n *network.Network, users int) NetworkEntry {
	subnet, gw := subnetOf(n)
	return NetworkEntry{ID: n.ID, Name: n.Name, Driver: n.Driver, Interface: n.Interface, Subnet: subnet, Gateway: gw,
		Internal: n.Internal, DNSEnabled: n.DNSEnabled, Labels: dockerview.OrEmptyMap(n.Labels), Created: micros(n.Created),
		Users: uint32(users), Path: NetworkPath(n.Name)}
}

// CreateNetwork: options name (s, required), driver (s: bridge), subnet
// (s, CIDR), gateway (s), ip_range (s), internal (b), labels (a{ss}),
// options (a{ss}: driver options).
func (m *manager) CreateNetwork(sender dbus.Sender, options map[string]dbus.Variant) (id string, path dbus.ObjectPath, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		nm, err := m.needNetworks()
		if err != nil {
			return err
		}
		if err := knownOptions("CreateNetwork", options, "name", "driver", "subnet", "gateway", "ip_range", "internal", "labels", "options"); err != nil {
			return err
		}
		var o network.CreateOptions
		for _, f := range []struct {
			name string
			dst  *string
		}{{"name", &o.Name}, {"driver", &o.Driver}, {"subnet", &o.Subnet}, {"gateway", &o.Gateway}, {"ip_range", &o.IPRange}} {
			if *f.dst, err = optString(options, f.name); err != nil {
				return err
			}
		}
		if o.Internal, err = optBool(options, "internal", false); err != nil {
			return err
		}
		if o.Labels, err = optStringMap(options, "labels"); err != nil {
			return err
		}
		if o.Options, err = optStringMap(options, "options"); err != nil {
			return err
		}
		n, err := nm.Create(o)
		if err != nil {
			return predefinedRefusal(err)
		}
		id, path = n.ID, NetworkPath(n.Name)
		return nil
	})
	return
}

// ListNetworks: options filter (as: docker's network ls filters, see
// network.Filters).
func (m *manager) ListNetworks(options map[string]dbus.Variant) ([]NetworkEntry, *dbus.Error) {
	defer m.s.act.Begin()()
	nm, err := m.needNetworks()
	if err != nil {
		return nil, ToDBus(err)
	}
	if err := knownOptions("ListNetworks", options, "filter"); err != nil {
		return nil, ToDBus(err)
	}
	in, err := optStrings(options, "filter")
	if err != nil {
		return nil, ToDBus(err)
	}
	f, err := network.ParseFilters(in)
	if err != nil {
		return nil, ToDBus(err)
	}
	out := []NetworkEntry{}
	for _, n := range nm.List() {
		users := len(nm.Users(n.ID))
		if f.Match(n, users) {
			out = append(out, networkEntry(n, users))
		}
	}
	return out, nil
}

// InspectNetwork returns docker's network inspect (package dockerview, as
// the Engine API serves it) as JSON, with berth's ObjectPath and
// Interface added.
func (m *manager) InspectNetwork(sender dbus.Sender, ref string) (out string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		nm, err := m.needNetworks()
		if err != nil {
			return err
		}
		n, err := nm.Get(ref)
		if err != nil {
			return err
		}
		v := dockerview.NetworkOf(n, nm.Users(n.ID), m.s.mgr.List())
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		obj["ObjectPath"] = NetworkPath(n.Name)
		obj["Interface"] = n.Interface
		b, err = json.MarshalIndent(obj, "", "  ")
		out = string(b)
		return err
	})
	return
}

// RemoveNetwork removes a user-defined network no container is attached
// to (InvalidState while one is; AccessDenied for bridge, host and none).
func (m *manager) RemoveNetwork(sender dbus.Sender, ref string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if _, err := m.needNetworks(); err != nil {
			return err
		}
		if err := knownOptions("RemoveNetwork", options); err != nil {
			return err
		}
		return predefinedRefusal(m.s.mgr.RemoveNetwork(ctx, ref))
	})
}

// predefinedRefusal turns the refusal to create or remove a predefined
// network (errdefs.ErrPermissionDenied, docker's 403) into
// InvalidArgument: on the bus AccessDenied says that the caller lacks
// rights, which is not the case.
func predefinedRefusal(err error) error {
	if !errdefs.IsPermissionDenied(err) {
		return err
	}
	return fmt.Errorf("%s: %w", strings.TrimSuffix(err.Error(), ": "+errdefs.ErrPermissionDenied.Error()), errdefs.ErrInvalidArgument)
}

// PruneNetworks removes the user-defined networks no container is
// attached to; options filter (as: until=, label=, label!=, as docker's).
func (m *manager) PruneNetworks(sender dbus.Sender, options map[string]dbus.Variant) (names []string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if _, err := m.needNetworks(); err != nil {
			return err
		}
		if err := knownOptions("PruneNetworks", options, "filter"); err != nil {
			return err
		}
		in, err := optStrings(options, "filter")
		if err != nil {
			return err
		}
		f, err := lifecycle.ParsePruneFilters(in, time.Now())
		if err != nil {
			return err
		}
		names, err = m.s.mgr.PruneNetworks(ctx, func(n *network.Network) bool { return f.Match(n.Created, n.Labels) })
		return err
	})
	if names == nil {
		names = []string{}
	}
	return
}

// ConnectNetwork joins a container to a network (set up at once when it
// runs); options aliases (as), ip (s).
func (m *manager) ConnectNetwork(sender dbus.Sender, ref, netRef string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if _, err := m.needNetworks(); err != nil {
			return err
		}
		if err := knownOptions("ConnectNetwork", options, "aliases", "ip"); err != nil {
			return err
		}
		var cfg network.EndpointConfig
		var err error
		if cfg.Aliases, err = optStrings(options, "aliases"); err != nil {
			return err
		}
		if cfg.IPv4Address, err = optString(options, "ip"); err != nil {
			return err
		}
		_, err = m.s.mgr.ConnectNetwork(ctx, ref, netRef, cfg)
		return err
	})
}

// DisconnectNetwork takes a container off a network; options force (b,
// docker's; a disconnect needs no force in berth: a network removed
// since is dropped by name anyway).
func (m *manager) DisconnectNetwork(sender dbus.Sender, ref, netRef string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if _, err := m.needNetworks(); err != nil {
			return err
		}
		if err := knownOptions("DisconnectNetwork", options, "force"); err != nil {
			return err
		}
		if _, err := optBool(options, "force", false); err != nil {
			return err
		}
		_, err := m.s.mgr.DisconnectNetwork(ctx, ref, netRef)
		return err
	})
}

func optStringMap(o map[string]dbus.Variant, name string) (map[string]string, error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	m, ok := v.Value().(map[string]string)
	if !ok {
		return nil, invalidOpt(name, "a string map (a{ss})", v)
	}
	return m, nil
}
