package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/ocispec"
	"github.com/containerd/errdefs"
)

// Network modes besides a network's name (docker's NetworkMode).
const (
	modeHost      = "host"
	modeNone      = "none"
	modeDefault   = "default"
	containerMode = "container:"
)

// ownNetwork reports whether a container of spec gets a network namespace
// of berth's own on networks (not host, none or another container's).
func ownNetwork(spec *Spec) bool {
	return spec.Network != modeHost && spec.Network != modeNone && !strings.HasPrefix(spec.Network, containerMode)
}

// validateNetwork checks and settles a create's network options (docker's
// rules): the mode ("" is the configuration's default-network,
// "default" is bridge), the networks named (they must exist; names are
// recorded, so a container follows its network by name as docker's),
// aliases and addresses, published ports.
func (m *Manager) validateNetwork(snap *config.Snapshot, spec *Spec) error {
	if spec.Network == "" {
		spec.Network = snap.DefaultNetwork
	}
	if spec.Network == modeDefault {
		spec.Network = network.Bridge
	}
	if err := network.CheckPortMap(spec.PortBindings); err != nil {
		return err
	}
	for _, p := range spec.ExposedPorts {
		if _, _, err := network.ParsePort(p); err != nil {
			return fmt.Errorf("expose: %w", err)
		}
	}
	ports := len(spec.PortBindings) > 0 || spec.PublishAllPorts
	switch {
	case spec.Network == modeHost || spec.Network == modeNone || strings.HasPrefix(spec.Network, containerMode):
		kind := spec.Network
		if strings.HasPrefix(kind, containerMode) {
			kind = "container"
		}
		if ports {
			return invalid("conflicting options: port publishing and the %s network mode", kind)
		}
		for name, e := range spec.Endpoints {
			if (name != "" && name != spec.Network) || len(e.Aliases) > 0 || e.IPv4Address != "" {
				return invalid("conflicting options: networks, aliases or addresses (%s) and the %s network mode", name, kind)
			}
		}
		spec.Endpoints = nil
		if ref, ok := strings.CutPrefix(spec.Network, containerMode); ok {
			other, err := m.Get(ref)
			if err != nil {
				return fmt.Errorf("network %s: %w", quote(spec.Network), err)
			}
			if spec.Hostname != "" {
				return invalid("conflicting options: hostname and the network mode %s (the other container's is used)", spec.Network)
			}
			if len(spec.DNS)+len(spec.DNSSearch)+len(spec.DNSOptions)+len(spec.ExtraHosts) > 0 {
				return invalid("conflicting options: dns or add-host options and the network mode %s", spec.Network)
			}
			spec.Network = containerMode + other.ID
		}
		return nil
	}
	if m.net == nil {
		return fmt.Errorf("network %s: networks are not available: %w", quote(spec.Network), errdefs.ErrNotImplemented)
	}
	primary, err := m.net.Get(spec.Network)
	if err != nil {
		return err
	}
	if primary.Driver != network.DriverBridge {
		// host or none given by id.
		spec.Network = primary.Name
		return m.validateNetwork(snap, spec)
	}
	// Endpoints by network name; the mode's own network is one of them.
	eps := map[string]network.EndpointConfig{}
	for ref, e := range spec.Endpoints {
		if ref == "" {
			ref = primary.Name // the primary network's settings
		}
		n, err := m.net.Get(ref)
		if err != nil {
			return err
		}
		if n.Driver != network.DriverBridge {
			return invalid("network %s: a container on %s cannot join the %s network too", n.Name, primary.Name, n.Name)
		}
		if _, dup := eps[n.Name]; dup {
			return invalid("network %s: named twice", n.Name)
		}
		eps[n.Name] = e
	}
	spec.Network = primary.Name
	if _, ok := eps[primary.Name]; !ok {
		eps[primary.Name] = network.EndpointConfig{}
	}
	spec.Endpoints = eps
	for _, h := range spec.ExtraHosts {
		if strings.HasSuffix(h, ":"+hostGateway) || strings.HasSuffix(h, "="+hostGateway) {
			if _, err := m.net.HostGateway(); err != nil {
				return err
			}
		}
	}
	return m.net.CheckRequest(attachRequest(spec, "", "", ""))
}

// attachRequest is what a run of a container of spec asks of the
// networks: its mode's network first (the published ports go through
// it), then the others by name.
func attachRequest(spec *Spec, id, name, run string) network.AttachRequest {
	r := network.AttachRequest{
		ContainerID: id, ContainerName: name, Run: run,
		PortBindings: spec.PortBindings, ExposedPorts: spec.ExposedPorts, PublishAll: spec.PublishAllPorts,
		DNSServers: spec.DNS,
	}
	names := make([]string, 0, len(spec.Endpoints))
	for n := range spec.Endpoints {
		if n != spec.Network {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := spec.Endpoints[spec.Network]; ok {
		names = append([]string{spec.Network}, names...)
	}
	for _, n := range names {
		r.Networks = append(r.Networks, network.NetworkRequest{Network: n, EndpointConfig: spec.Endpoints[n]})
	}
	return r
}

// attachNetwork gives a run of the container its network namespace on its
// networks (nil for host, none and container:ID).
func (m *Manager) attachNetwork(ctx context.Context, rec *Record, run *Run) (*network.Attachment, error) {
	if !ownNetwork(&rec.Spec) || m.net == nil {
		return nil, nil
	}
	return m.net.Attach(ctx, attachRequest(&rec.Spec, rec.ID, rec.Name, run.ID))
}

// detachNetwork tears down what attachNetwork set up for run ("" for
// any run) of container id.
func (m *Manager) detachNetwork(ctx context.Context, id, run string) {
	if m.net != nil {
		m.net.Detach(ctx, id, run)
	}
}

// detachLater is detachNetwork in the background (for a run that ended:
// a stop, remove or next start waits for it through the network's
// per-container lock).
func (m *Manager) detachLater(id, run string) {
	if m.net == nil {
		return
	}
	end := func() {}
	if m.hold != nil {
		end = m.hold() // berthd stays until the teardown is done
	}
	go func() {
		defer end()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		m.net.Detach(ctx, id, run)
	}()
}

// reconcileNetworks tears down the attachments of runs that are over
// (berthd, a monitor or a start died): called once the interrupted
// starts are settled.
func (m *Manager) reconcileNetworks(ctx context.Context) {
	if m.net == nil {
		return
	}
	n := m.net.Reconcile(ctx, func(id, run string) bool {
		m.mu.Lock()
		c := m.containers[id]
		m.mu.Unlock()
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gone {
			return false
		}
		if c.rec.Next != nil && c.rec.Next.ID == run {
			return true // a start of this berthd's, under way
		}
		return c.rec.State.Live() && c.rec.Run != nil && c.rec.Run.ID == run
	})
	if n > 0 {
		m.log.Info("tore down the networks of runs that had ended", "count", n)
	}
}

// withNetwork adds the running container's attachment to info.
func (m *Manager) withNetwork(info Info) Info {
	if m.net != nil && info.State.Live() {
		if a := m.net.Attachment(info.ID); a != nil && info.Run != nil && a.Run == info.Run.ID {
			info.Network = a
		}
	}
	return info
}

// RemoveNetwork removes network ref (network.Manager.Remove) once the
// networks of runs that have ended are torn down: a container that exited
// or was removed a moment ago, whose teardown runs in the background, is
// no active endpoint, as with docker.
func (m *Manager) RemoveNetwork(ctx context.Context, ref string) error {
	if m.net == nil {
		return fmt.Errorf("networks are not available: %w", errdefs.ErrNotImplemented)
	}
	m.reconcileNetworks(ctx)
	return m.net.Remove(ref)
}

// PruneNetworks is network.Manager.Prune once the networks of runs that
// have ended are torn down (as RemoveNetwork).
func (m *Manager) PruneNetworks(ctx context.Context, keep func(*network.Network) bool) ([]string, error) {
	if m.net == nil {
		return nil, fmt.Errorf("networks are not available: %w", errdefs.ErrNotImplemented)
	}
	m.reconcileNetworks(ctx)
	return m.net.Prune(keep)
}

// Networks is the network manager (nil when networks are unavailable).
func (m *Manager) Networks() *network.Manager { return m.net }

// ConnectNetwork joins container ref to network netRef (docker's network
// connect): recorded in the container's endpoints, and set up at once
// when it runs. A container in mode host, none or container:ID cannot
// join networks (errdefs.ErrInvalidArgument); one on the network already
// is errdefs.ErrConflict.
func (m *Manager) ConnectNetwork(ctx context.Context, ref, netRef string, cfg network.EndpointConfig) (Info, error) {
	if m.net == nil {
		return Info{}, fmt.Errorf("networks are not available: %w", errdefs.ErrNotImplemented)
	}
	n, err := m.net.Get(netRef)
	if err != nil {
		return Info{}, err
	}
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	if c.gone {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
	}
	name, id := c.rec.Name, c.rec.ID
	if !ownNetwork(&c.rec.Spec) {
		c.mu.Unlock()
		return Info{}, invalid("container %s: cannot connect a container in network mode %s to network %s", name, c.rec.Spec.Network, n.Name)
	}
	if n.Driver != network.DriverBridge {
		c.mu.Unlock()
		return Info{}, invalid("container %s: cannot connect to the %s network: it is a network mode (run the container with --network %s)", name, n.Name, n.Name)
	}
	if _, ok := c.rec.Spec.Endpoints[n.Name]; ok {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %s is already connected to network %s: %w", name, n.Name, errdefs.ErrConflict)
	}
	if err := m.net.CheckRequest(network.AttachRequest{Networks: []network.NetworkRequest{{Network: n.Name, EndpointConfig: cfg}}}); err != nil {
		c.mu.Unlock()
		return Info{}, err
	}
	live := c.rec.State == Running || c.rec.State == Paused
	spec := c.rec.Spec
	c.begin(OpUpdate)
	c.mu.Unlock()
	if live && m.net.Attachment(id) != nil {
		if _, err := m.net.Connect(ctx, id, network.NetworkRequest{Network: n.Name, EndpointConfig: cfg}); err != nil {
			c.mu.Lock()
			c.end()
			c.mu.Unlock()
			return Info{}, err
		}
		m.refreshResolvConf(&spec, id)
	}
	c.mu.Lock()
	eps := make(map[string]network.EndpointConfig, len(c.rec.Spec.Endpoints)+1)
	for k, v := range c.rec.Spec.Endpoints {
		eps[k] = v
	}
	eps[n.Name] = network.EndpointConfig{Aliases: slices.Clone(cfg.Aliases), IPv4Address: cfg.IPv4Address}
	c.rec.Spec.Endpoints = eps
	err = m.save(c)
	info := c.info()
	c.end()
	c.mu.Unlock()
	if err != nil {
		return Info{}, err
	}
	m.events(Event{Kind: EventChanged, Info: info})
	return m.withNetwork(info), nil
}

// DisconnectNetwork takes container ref off network netRef (docker's
// network disconnect): a container not on it is errdefs.ErrNotFound.
func (m *Manager) DisconnectNetwork(ctx context.Context, ref, netRef string) (Info, error) {
	if m.net == nil {
		return Info{}, fmt.Errorf("networks are not available: %w", errdefs.ErrNotImplemented)
	}
	c, err := m.lookup(ref)
	if err != nil {
		return Info{}, err
	}
	n, nerr := m.net.Get(netRef)
	if err := c.lockIdle(ctx); err != nil {
		return Info{}, err
	}
	if c.gone {
		c.mu.Unlock()
		return Info{}, fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
	}
	name, id := c.rec.Name, c.rec.ID
	// A network removed since (docker keeps the name) is dropped by
	// name.
	key := netRef
	if nerr == nil {
		key = n.Name
	}
	if _, ok := c.rec.Spec.Endpoints[key]; !ok {
		c.mu.Unlock()
		if nerr != nil {
			return Info{}, nerr
		}
		return Info{}, fmt.Errorf("container %s is not connected to network %s: %w", name, key, errdefs.ErrNotFound)
	}
	live := c.rec.State == Running || c.rec.State == Paused
	spec := c.rec.Spec
	c.begin(OpUpdate)
	c.mu.Unlock()
	if live && nerr == nil {
		if a := m.net.Attachment(id); a != nil && slices.ContainsFunc(a.Endpoints, func(e network.Endpoint) bool { return e.NetworkID == n.ID }) {
			if err := m.net.Disconnect(ctx, id, n.ID); err != nil {
				c.mu.Lock()
				c.end()
				c.mu.Unlock()
				return Info{}, err
			}
			m.refreshResolvConf(&spec, id)
		}
	}
	c.mu.Lock()
	eps := make(map[string]network.EndpointConfig, len(c.rec.Spec.Endpoints))
	for k, v := range c.rec.Spec.Endpoints {
		if k != key {
			eps[k] = v
		}
	}
	c.rec.Spec.Endpoints = eps
	err = m.save(c)
	info := c.info()
	c.end()
	c.mu.Unlock()
	if err != nil {
		return Info{}, err
	}
	m.events(Event{Kind: EventChanged, Info: info})
	return m.withNetwork(info), nil
}

// refreshResolvConf rewrites running container id's resolv.conf after a
// connect or disconnect changed the name servers of its networks (as
// docker's): a container started on the default bridge resolves names
// once it joins a user-defined network, and no longer asks a network it
// left. Only a resolv.conf of berth's (in the container's directory) is
// rewritten, in place: it is bind-mounted, so a new file would not reach
// the container. A failure is logged; the connect stands.
func (m *Manager) refreshResolvConf(spec *Spec, id string) {
	a := m.net.Attachment(id)
	if a == nil {
		return
	}
	p := filepath.Join(m.containerDir(id), "resolv.conf")
	if _, err := os.Stat(p); err != nil {
		return // the user's own file or none: not berth's to write
	}
	body := resolvConf(hostResolv(), false, DNS{Servers: spec.DNS, Search: spec.DNSSearch, Options: spec.DNSOptions, NetworkServers: a.DNSServers})
	if err := rewriteInPlace(p, body); err != nil {
		m.log.Error("cannot rewrite the container's resolv.conf", "container", id, "err", err)
	}
}

// rewriteInPlace replaces the contents of an existing file keeping its
// inode (a bind mount of it sees the change).
func rewriteInPlace(path string, body []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// networkFiles points so at the run's network namespace (att's, or the
// other container's for --network container:ID) and fills dns with the
// container's own /etc/hosts line, its networks' name servers and the
// address host-gateway stands for.
func (m *Manager) networkFiles(spec *Spec, att *network.Attachment, so *ocispec.Options, dns *DNS) error {
	if m.net != nil {
		if gw, err := m.net.HostGateway(); err == nil {
			dns.HostGateway = gw.String()
		}
	}
	for _, h := range dns.ExtraHosts {
		if (strings.HasSuffix(h, ":"+hostGateway) || strings.HasSuffix(h, "="+hostGateway)) && dns.HostGateway == "" {
			return fmt.Errorf("add-host %s: the default bridge network has no gateway: %w", quote(h), errdefs.ErrUnavailable)
		}
	}
	if id, ok := strings.CutPrefix(spec.Network, containerMode); ok {
		other, err := m.Get(id)
		if err != nil {
			return fmt.Errorf("cannot join the network namespace of container %s: %w", id, err)
		}
		if (other.State != Running && other.State != Paused) || other.Pid <= 0 {
			return fmt.Errorf("cannot join the network namespace of container %s: it is not running (%s): %w", other.Name, other.State, errdefs.ErrConflict)
		}
		// The other container's names, as docker shares its files.
		spec.Hostname = other.Spec.Hostname
		if spec.Hostname == "" {
			spec.Hostname = other.ID[:12]
		}
		so.Hostname = spec.Hostname
		dns.Servers, dns.Search, dns.Options, dns.ExtraHosts = other.Spec.DNS, other.Spec.DNSSearch, other.Spec.DNSOptions, other.Spec.ExtraHosts
		if other.Network != nil {
			so.JoinNet = other.Network.NetNS
		} else {
			so.JoinNet = "/proc/" + strconv.Itoa(other.Pid) + "/ns/net"
		}
		att = other.Network
	} else if att != nil {
		so.JoinNet = att.NetNS
	}
	if att == nil {
		return nil
	}
	if len(att.Endpoints) > 0 {
		dns.Self = []string{att.Endpoints[0].Address.Addr().String() + "\t" + spec.Hostname}
	}
	dns.NetworkServers = att.DNSServers
	return nil
}
