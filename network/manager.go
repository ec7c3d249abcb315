package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/containerd/errdefs"
)

// Options configure a Manager.
type Options struct {
	DataRoot string // networks' records: DataRoot/networks
	ExecRoot string // attachments and aardvark-dns's state: ExecRoot/networks
	// NetNSDir is where network namespaces are bound (NetNSDir if empty).
	NetNSDir string
	// Netavark and Aardvark are the binaries (Debian's paths if empty).
	Netavark, Aardvark string
	Log                *slog.Logger
}

// Manager owns berth's networks (records under data-root), the address
// each container has on them, and each running container's attachment:
// its network namespace, its endpoints and its published ports. The
// plumbing (bridges, veths, firewall rules, port forwarding, the
// aardvark-dns name server) is netavark's. An attachment is recorded
// (exec-root/networks/attachments/ID.json) before anything is set up and
// removed after everything is torn down, so that a berthd that died in
// between finds and undoes it (Reconcile); addresses are those the
// attachments hold, so a lease ends with its attachment.
type Manager struct {
	store
	execRoot string
	netnsDir string
	nav      netavark

	// attachments by container id, guarded by store.mu.
	attachments map[string]*Attachment

	// cmu serializes attach, detach, connect and disconnect per
	// container.
	cmuMu sync.Mutex
	cmu   map[string]*sync.Mutex

	changed func()
}

// Open reads the networks and attachments, and creates the default
// bridge network on first use (a free subnet of the default pools).
func Open(o Options) (*Manager, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.NetNSDir == "" {
		o.NetNSDir = NetNSDir
	}
	if o.Netavark == "" {
		o.Netavark = DefaultNetavark
	}
	if o.Aardvark == "" {
		o.Aardvark = DefaultAardvark
	}
	m := &Manager{
		store:       store{root: filepath.Join(o.DataRoot, "networks"), log: o.Log, nets: map[string]*Network{}},
		execRoot:    filepath.Join(o.ExecRoot, "networks"),
		netnsDir:    o.NetNSDir,
		nav:         netavark{binary: o.Netavark, aardvark: o.Aardvark, configDir: filepath.Join(o.ExecRoot, "networks", "aardvark")},
		attachments: map[string]*Attachment{},
		cmu:         map[string]*sync.Mutex{},
	}
	if err := m.load(); err != nil {
		return nil, err
	}
	for _, p := range []struct{ name, driver string }{{Host, DriverHost}, {None, DriverNull}} {
		m.nets[predefinedID(p.name)] = &Network{Version: Version, ID: predefinedID(p.name), Name: p.name, Driver: p.driver}
	}
	if err := os.MkdirAll(m.attachDir(), 0o700); err != nil {
		return nil, err
	}
	// Only berthd writes attachments, and one berthd runs: a temporary
	// file here is a write cut short by a kill.
	if _, err := atomicfile.RemoveTemps(m.attachDir()); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(m.attachDir())
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.attachDir(), e.Name()))
		var a Attachment
		if err == nil {
			err = json.Unmarshal(b, &a)
		}
		if err != nil || a.ContainerID+".json" != e.Name() {
			m.log.Error("unreadable network attachment, skipped", "file", e.Name(), "err", err)
			continue
		}
		m.attachments[a.ContainerID] = &a
	}
	if err := m.ensureDefault(); err != nil {
		return nil, err
	}
	return m, nil
}

// OnChange sets the function called (without locks held) after networks
// came or went.
func (m *Manager) OnChange(f func()) {
	m.mu.Lock()
	m.changed = f
	m.mu.Unlock()
}

func (m *Manager) notify() {
	m.mu.Lock()
	f := m.changed
	m.mu.Unlock()
	if f != nil {
		f()
	}
}

func (m *Manager) attachDir() string { return filepath.Join(m.execRoot, "attachments") }

// ensureDefault creates the default bridge network if it is missing.
func (m *Manager) ensureDefault() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		if n.Name == Bridge {
			return nil
		}
	}
	p, err := m.freeSubnetLocked(hostRoutes())
	if err != nil {
		return fmt.Errorf("default network: %w", err)
	}
	n := &Network{
		Version: Version, ID: predefinedID(Bridge), Name: Bridge, Driver: DriverBridge, Interface: DefaultInterface,
		Subnets: []Subnet{{Subnet: p, Gateway: p.Addr().Next()}}, Created: time.Now().UTC(),
	}
	if err := m.write(n); err != nil {
		return fmt.Errorf("default network: %w", err)
	}
	m.nets[n.ID] = n
	return nil
}

// Create makes a bridge network. A name in use is errdefs.ErrConflict, a
// subnet that overlaps another network's or a host route's
// errdefs.ErrInvalidArgument.
func (m *Manager) Create(o CreateOptions) (*Network, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	routes := hostRoutes()
	m.mu.Lock()
	for _, n := range m.nets {
		if n.Name == o.Name {
			m.mu.Unlock()
			return nil, fmt.Errorf("network with name %s already exists: %w", o.Name, errdefs.ErrConflict)
		}
	}
	var sn Subnet
	if o.Subnet != "" {
		p, gw, err := parseSubnet(o.Subnet, o.Gateway)
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		if other := m.overlapLocked(p); other != nil {
			m.mu.Unlock()
			return nil, invalid("subnet %s: overlaps network %s (%s)", p, other.Name, other.Subnets[0].Subnet)
		}
		for _, r := range routes {
			if overlaps(p, r) {
				m.mu.Unlock()
				return nil, invalid("subnet %s: overlaps the host's route to %s", p, r)
			}
		}
		r, err := parseIPRange(p, o.IPRange)
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		sn = Subnet{Subnet: p, Gateway: gw, IPRange: r}
	} else {
		p, err := m.freeSubnetLocked(routes)
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		sn = Subnet{Subnet: p, Gateway: p.Addr().Next()}
	}
	id := newID()
	n := &Network{
		Version: Version, ID: id, Name: o.Name, Driver: DriverBridge, Interface: "br-" + id[:12],
		Subnets: []Subnet{sn}, Internal: o.Internal, DNSEnabled: true,
		Labels: maps.Clone(o.Labels), Options: maps.Clone(o.Options), Created: time.Now().UTC(),
	}
	if err := m.write(n); err != nil {
		os.RemoveAll(m.dir(id))
		m.mu.Unlock()
		return nil, err
	}
	m.nets[id] = n
	out := n.clone()
	m.mu.Unlock()
	emit(events.NetworkCreated, out)
	m.notify()
	return out, nil
}

// Get finds a network by id, name or unique id prefix (errs.NoSuchNetwork).
func (m *Manager) Get(ref string) (*Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookupLocked(ref)
	if err != nil {
		return nil, err
	}
	return n.clone(), nil
}

// List returns every network (host and none included), by name.
func (m *Manager) List() []*Network {
	m.mu.Lock()
	out := make([]*Network, 0, len(m.nets))
	for _, n := range m.nets {
		out = append(out, n.clone())
	}
	m.mu.Unlock()
	sortNetworks(out)
	return out
}

// Remove deletes a network. A predefined network is
// errdefs.ErrPermissionDenied, one with containers attached errdefs.ErrConflict
// (docker: "has active endpoints").
func (m *Manager) Remove(ref string) error {
	m.mu.Lock()
	n, err := m.lookupLocked(ref)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if n.Predefined() {
		m.mu.Unlock()
		return fmt.Errorf("network %s is a predefined network and cannot be removed: %w", n.Name, errdefs.ErrPermissionDenied)
	}
	if users := m.usersLocked(n.ID); len(users) > 0 {
		m.mu.Unlock()
		return fmt.Errorf("network %s has active endpoints (containers %s): %w", n.Name, strings.Join(users, ", "), errdefs.ErrConflict)
	}
	err = m.removeLocked(n)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	emit(events.NetworkDestroyed, n)
	m.notify()
	return nil
}

// removeLocked deletes n's record: renamed aside first, so that a crash
// never leaves half a record.
func (m *Manager) removeLocked(n *Network) error {
	trash := filepath.Join(m.root, ".rm-"+n.ID)
	if err := os.Rename(m.dir(n.ID), trash); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	os.RemoveAll(trash)
	delete(m.nets, n.ID)
	return nil
}

// usersLocked names the containers attached to network id.
func (m *Manager) usersLocked(id string) []string {
	var out []string
	for _, a := range m.attachments {
		for _, e := range a.Endpoints {
			if e.NetworkID == id {
				out = append(out, a.ContainerName)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Prune removes the user-defined networks that no container is attached
// to and that keep passes (nil: all), and returns their names.
func (m *Manager) Prune(keep func(*Network) bool) ([]string, error) {
	m.mu.Lock()
	var gone []*Network
	var firstErr error
	for _, n := range m.nets {
		if n.Predefined() || len(m.usersLocked(n.ID)) > 0 || (keep != nil && !keep(n)) {
			continue
		}
		if err := m.removeLocked(n); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		gone = append(gone, n)
	}
	m.mu.Unlock()
	sortNetworks(gone)
	var names []string
	for _, n := range gone {
		emit(events.NetworkDestroyed, n)
		names = append(names, n.Name)
	}
	if len(gone) > 0 {
		m.notify()
	}
	return names, firstErr
}

// EndpointConfig is what a container asks of one network (docker's
// EndpointSettings as given at create or connect).
type EndpointConfig struct {
	// Aliases are extra names the container has on the network (docker's
	// --network-alias); user-defined networks only.
	Aliases []string `json:"aliases,omitempty"`
	// IPv4Address is the address asked for (docker's --ip), "" for the
	// next free one.
	IPv4Address string `json:"ipv4_address,omitempty"`
}

// Endpoint is a container's place on one network for a run.
type Endpoint struct {
	ID          string       `json:"id"` // docker's EndpointID: 64 hex digits
	NetworkID   string       `json:"network_id"`
	NetworkName string       `json:"network_name"`
	Interface   string       `json:"interface"` // in the container: eth0, eth1...
	Address     netip.Prefix `json:"address"`   // IP and the subnet's length
	Gateway     netip.Addr   `json:"gateway"`
	MacAddress  string       `json:"mac_address,omitempty"`
	// Aliases are the user's (--network-alias); DNSNames every name the
	// network's name server answers for the container (its name, short
	// id and aliases).
	Aliases  []string `json:"aliases,omitempty"`
	DNSNames []string `json:"dns_names,omitempty"`
	// Ports: the published ports forward through this endpoint.
	Ports bool `json:"ports,omitempty"`
	// Config is what the container asked for (kept for a reconnect).
	Config EndpointConfig `json:"config"`
}

// Attachment is a running container's networking: its namespace,
// endpoints and published ports, and what netavark was given to set them
// up (replayed to tear them down).
type Attachment struct {
	Version       int        `json:"version"`
	ContainerID   string     `json:"container_id"`
	ContainerName string     `json:"container_name"`
	Run           string     `json:"run"`
	NetNS         string     `json:"netns"`
	Endpoints     []Endpoint `json:"endpoints"`
	Ports         []Port     `json:"ports,omitempty"`
	// DNSServers are the name servers a container's resolv.conf names:
	// the gateways of its networks that resolve names.
	DNSServers []string   `json:"dns_servers,omitempty"`
	Netavark   navOptions `json:"netavark"`
}

func (a *Attachment) clone() *Attachment {
	c := *a
	c.Endpoints = slices.Clone(a.Endpoints)
	c.Ports = slices.Clone(a.Ports)
	c.DNSServers = slices.Clone(a.DNSServers)
	return &c
}

// NetworkRequest names one network a container joins and what it asks
// of it.
type NetworkRequest struct {
	Network string // name, id or id prefix
	EndpointConfig
}

// AttachRequest is what a container's start asks: its networks (the
// first is its primary one: the published ports go through it), its
// published ports and upstream name servers.
type AttachRequest struct {
	ContainerID, ContainerName string
	// Run is the run this attachment belongs to: Detach of another run
	// changes nothing.
	Run          string
	Networks     []NetworkRequest
	PortBindings PortMap
	ExposedPorts []string
	PublishAll   bool
	// DNSServers are the upstream servers the network's name server asks
	// for other names (docker's --dns on a user-defined network).
	DNSServers []string
}

// CheckRequest checks the networks and ports of a request against the
// networks that exist now (a create's checks; a start checks again).
func (m *Manager) CheckRequest(r AttachRequest) error {
	if err := CheckPortMap(r.PortBindings); err != nil {
		return err
	}
	if len(r.ExposedPorts) > MaxPorts {
		return invalid("expose: %d ports, at most %d per container", len(r.ExposedPorts), MaxPorts)
	}
	for _, e := range r.ExposedPorts {
		if _, _, err := ParsePort(e); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for i, nr := range r.Networks {
		n, err := m.lookupLocked(nr.Network)
		if err != nil {
			return err
		}
		if i == 0 && n.Internal && (len(r.PortBindings) > 0 || r.PublishAll) {
			return invalid("network %s is internal: it has no route to or from the host, so ports cannot be published on it", n.Name)
		}
		if seen[n.ID] {
			return invalid("network %s: named twice", n.Name)
		}
		seen[n.ID] = true
		if err := checkEndpoint(n, nr.EndpointConfig); err != nil {
			return err
		}
	}
	return nil
}

// checkEndpoint refuses what n cannot give: aliases on a network without
// name resolution (docker: "network-scoped alias is supported only for
// containers in user defined networks"), an address outside its subnet.
func checkEndpoint(n *Network, c EndpointConfig) error {
	if n.Driver != DriverBridge {
		return invalid("network %s: a container cannot join the %s network with other networks or endpoint settings", n.Name, n.Name)
	}
	if len(c.Aliases) > 0 && !n.DNSEnabled {
		return invalid("network-scoped aliases (%s) are supported only for containers in user-defined networks, not on %s", strings.Join(c.Aliases, ", "), n.Name)
	}
	for _, a := range c.Aliases {
		if a == "" || strings.ContainsAny(a, " \t\n,/") {
			return invalid("network alias %q: not a host name", a)
		}
	}
	if c.IPv4Address != "" {
		ip, err := netip.ParseAddr(c.IPv4Address)
		if err != nil || !ip.Is4() {
			return invalid("ip %q: not an IPv4 address", c.IPv4Address)
		}
		if n.Name == Bridge {
			return invalid("ip %s: user-specified addresses are supported only on user-defined networks, not on %s", ip, n.Name)
		}
		sn := n.Subnets[0]
		if !sn.Subnet.Contains(ip) || ip == sn.Subnet.Addr() || ip == broadcast(sn.Subnet) || ip == sn.Gateway {
			return invalid("ip %s: not a free host address of network %s's subnet %s", ip, n.Name, sn.Subnet)
		}
	}
	return nil
}

// lockContainer serializes the network changes of one container.
func (m *Manager) lockContainer(id string) func() {
	m.cmuMu.Lock()
	mu := m.cmu[id]
	if mu == nil {
		mu = &sync.Mutex{}
		m.cmu[id] = mu
	}
	m.cmuMu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// Attach gives a container starting a run its own network namespace on
// the networks of r, with its ports published, and returns the
// attachment. An attachment left by an earlier run of the container is
// torn down first. On error nothing of it is left: no namespace, veth,
// address, firewall rule or name.
func (m *Manager) Attach(ctx context.Context, r AttachRequest) (*Attachment, error) {
	defer m.lockContainer(r.ContainerID)()
	if old := m.Attachment(r.ContainerID); old != nil {
		m.detachLocked(ctx, old)
	}
	if err := ensureSharedDir(m.netnsDir); err != nil {
		return nil, err
	}
	a := &Attachment{
		Version: Version, ContainerID: r.ContainerID, ContainerName: r.ContainerName, Run: r.Run,
		NetNS: netnsPath(m.netnsDir, r.ContainerID),
	}
	a.Netavark = navOptions{
		ContainerID: r.ContainerID, ContainerName: r.ContainerName,
		Networks: map[string]navPerNetwork{}, NetworkInfo: map[string]navNetwork{}, DNSServers: r.DNSServers,
	}
	m.mu.Lock()
	for i, nr := range r.Networks {
		n, err := m.lookupLocked(nr.Network)
		if err == nil {
			err = checkEndpoint(n, nr.EndpointConfig)
		}
		if err == nil {
			err = m.addEndpointLocked(a, n, nr.EndpointConfig, "eth"+strconv.Itoa(i), i == 0)
		}
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
	}
	var taken []Port
	for _, o := range m.attachments {
		taken = append(taken, o.Ports...)
	}
	if len(a.Endpoints) > 0 {
		ports, err := resolvePorts(r.PortBindings, r.ExposedPorts, r.PublishAll, taken)
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		a.Ports = ports
		for _, p := range ports {
			a.Netavark.PortMappings = append(a.Netavark.PortMappings, navPortMapping{
				HostIP: p.HostIP, ContainerPort: p.ContainerPort, HostPort: p.HostPort, Range: 1, Protocol: p.Protocol,
			})
		}
	}
	// Recorded before anything is set up: a berthd that dies from here
	// on leaves a record that Reconcile undoes.
	if err := m.writeAttachment(a); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.attachments[a.ContainerID] = a
	m.mu.Unlock()

	fail := func(err error) (*Attachment, error) {
		m.detachLocked(context.WithoutCancel(ctx), a)
		return nil, err
	}
	if err := newNetNS(a.NetNS); err != nil {
		return fail(err)
	}
	if len(a.Endpoints) > 0 {
		st, err := m.nav.setup(ctx, a.NetNS, a.Netavark)
		if err != nil {
			return fail(fmt.Errorf("network setup of container %s: %w", r.ContainerName, err))
		}
		m.mu.Lock()
		applyStatus(a, st)
		err = m.writeAttachment(a)
		m.mu.Unlock()
		if err != nil {
			return fail(err)
		}
	}
	for _, e := range a.Endpoints {
		emit(events.NetworkConnected, &Network{ID: e.NetworkID, Name: e.NetworkName}, events.Container(a.ContainerID, a.ContainerName)...)
	}
	return m.Attachment(r.ContainerID), nil
}

// addEndpointLocked gives a an endpoint on n: an address (the one asked
// for, or the lowest free one), its names, and n's part of netavark's
// options.
func (m *Manager) addEndpointLocked(a *Attachment, n *Network, c EndpointConfig, ifname string, ports bool) error {
	for _, e := range a.Endpoints {
		if e.NetworkID == n.ID {
			return fmt.Errorf("container %s is already connected to network %s: %w", a.ContainerName, n.Name, errdefs.ErrConflict)
		}
	}
	sn := n.Subnets[0]
	used := map[netip.Addr]string{}
	for _, o := range m.attachments {
		for _, e := range o.Endpoints {
			if e.NetworkID == n.ID {
				used[e.Address.Addr()] = o.ContainerName
			}
		}
	}
	var ip netip.Addr
	if c.IPv4Address != "" {
		ip, _ = netip.ParseAddr(c.IPv4Address)
		if other, ok := used[ip]; ok {
			return fmt.Errorf("ip %s on network %s: in use by container %s: %w", ip, n.Name, other, errdefs.ErrConflict)
		}
	} else {
		ip = firstFree(sn, used)
		if !ip.IsValid() {
			return fmt.Errorf("network %s: no free address left in %s: %w", n.Name, sn.Subnet, errdefs.ErrUnavailable)
		}
	}
	e := Endpoint{
		ID: newID(), NetworkID: n.ID, NetworkName: n.Name, Interface: ifname,
		Address: netip.PrefixFrom(ip, sn.Subnet.Bits()), Gateway: sn.Gateway,
		Aliases: slices.Clone(c.Aliases), Ports: ports, Config: c,
	}
	if n.DNSEnabled {
		e.DNSNames = append([]string{a.ContainerName, a.ContainerID[:12]}, c.Aliases...)
		a.DNSServers = append(a.DNSServers, sn.Gateway.String())
	}
	a.Endpoints = append(a.Endpoints, e)
	a.Netavark.Networks[n.Name] = navPerNetwork{StaticIPs: []string{ip.String()}, Aliases: orEmpty(e.DNSNames), InterfaceName: ifname, StaticMAC: macFor(ip)}
	a.Netavark.NetworkInfo[n.Name] = navInfo(n)
	return nil
}

// macFor is the MAC address of an endpoint with address ip: docker's
// 02:42 and the address's four bytes. An address given again (to the next
// container after one left) keeps its MAC, so that the neighbour entries
// the host still holds for it stay right; with a random MAC, traffic to
// the new container went to the old MAC until they expired.
func macFor(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// navInfo is n as netavark reads it. Every network is isolated
// (netavark's isolate: the host drops traffic between two isolated
// bridges), so that, as with docker, a container reaches the containers
// of another network neither by name nor by address.
func navInfo(n *Network) navNetwork {
	out := navNetwork{
		Name: n.Name, ID: n.ID, Driver: DriverBridge, NetworkInterface: n.Interface,
		Internal: n.Internal, DNSEnabled: n.DNSEnabled, IPAMOptions: map[string]string{"driver": "host-local"},
		Options: map[string]string{"isolate": "true"},
	}
	for _, s := range n.Subnets {
		out.Subnets = append(out.Subnets, navSubnet{Subnet: s.Subnet.String(), Gateway: s.Gateway.String()})
	}
	return out
}

// firstFree is the lowest host address of sn (of its IPRange if it has
// one) that is neither its gateway nor in used.
func firstFree(sn Subnet, used map[netip.Addr]string) netip.Addr {
	first, last := sn.Subnet.Addr().Next(), broadcast(sn.Subnet)
	if sn.IPRange.IsValid() {
		first = sn.IPRange.Addr()
		if first == sn.Subnet.Addr() {
			first = first.Next()
		}
		if end := broadcast(sn.IPRange); end.Less(last) {
			last = end.Next()
		}
	}
	for ip := first; ip.IsValid() && ip.Less(last); ip = ip.Next() {
		if ip == sn.Gateway {
			continue
		}
		if _, ok := used[ip]; !ok {
			return ip
		}
	}
	return netip.Addr{}
}

// applyStatus takes the MAC addresses netavark gave the interfaces.
func applyStatus(a *Attachment, st map[string]navStatus) {
	for i, e := range a.Endpoints {
		s, ok := st[e.NetworkName]
		if !ok {
			continue
		}
		if itf, ok := s.Interfaces[e.Interface]; ok {
			a.Endpoints[i].MacAddress = itf.MACAddress
		}
	}
}

func (m *Manager) writeAttachment(a *Attachment) error {
	return atomicfile.WriteJSON(filepath.Join(m.attachDir(), a.ContainerID+".json"), a, 0o600)
}

// Attachment returns container id's attachment, or nil.
func (m *Manager) Attachment(id string) *Attachment {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.attachments[id]; a != nil {
		return a.clone()
	}
	return nil
}

// Detach tears down container id's attachment if it belongs to run (""
// for any run): namespace, veths, firewall rules, port forwarding, names
// and addresses. An attachment of another run is left alone.
func (m *Manager) Detach(ctx context.Context, id, run string) {
	defer m.lockContainer(id)()
	a := m.Attachment(id)
	if a == nil || (run != "" && a.Run != run) {
		return
	}
	m.detachLocked(ctx, a)
}

// detachLocked undoes a (the container's lock held): netavark's teardown
// while the namespace is there, then the namespace, then the record. A
// teardown that fails is logged; what it left of netavark's state stays
// for the administrator, but the address and the record are freed.
func (m *Manager) detachLocked(ctx context.Context, a *Attachment) {
	if len(a.Netavark.Networks) > 0 && isNetNS(a.NetNS) {
		if err := m.nav.teardown(ctx, a.NetNS, a.Netavark); err != nil {
			m.log.Error("network teardown failed", "container", a.ContainerID, "err", err)
		}
	}
	if err := removeNetNS(a.NetNS); err != nil {
		m.log.Error("cannot remove the network namespace", "container", a.ContainerID, "netns", a.NetNS, "err", err)
	}
	m.mu.Lock()
	if err := os.Remove(filepath.Join(m.attachDir(), a.ContainerID+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.Error("cannot remove the network attachment record", "container", a.ContainerID, "err", err)
	}
	if cur := m.attachments[a.ContainerID]; cur != nil && cur.Run == a.Run {
		delete(m.attachments, a.ContainerID)
	}
	m.mu.Unlock()
	for _, e := range a.Endpoints {
		emit(events.NetworkDisconnected, &Network{ID: e.NetworkID, Name: e.NetworkName}, events.Container(a.ContainerID, a.ContainerName)...)
	}
}

// Connect joins running container id (which has an attachment) to one
// more network; it returns the new endpoint.
func (m *Manager) Connect(ctx context.Context, id string, nr NetworkRequest) (Endpoint, error) {
	defer m.lockContainer(id)()
	m.mu.Lock()
	a := m.attachments[id]
	if a == nil {
		m.mu.Unlock()
		return Endpoint{}, fmt.Errorf("container %s has no network namespace of its own to connect: %w", id, errdefs.ErrFailedPrecondition)
	}
	n, err := m.lookupLocked(nr.Network)
	if err == nil {
		err = checkEndpoint(n, nr.EndpointConfig)
	}
	if err != nil {
		m.mu.Unlock()
		return Endpoint{}, err
	}
	next := a.clone()
	next.Netavark = cloneNav(a.Netavark)
	if err := m.addEndpointLocked(next, n, nr.EndpointConfig, freeInterface(a), false); err != nil {
		m.mu.Unlock()
		return Endpoint{}, err
	}
	// Recorded first (a crash then tears the new endpoint down with the
	// rest), and its address is taken from now on.
	if err := m.writeAttachment(next); err != nil {
		m.mu.Unlock()
		return Endpoint{}, err
	}
	m.attachments[id] = next
	m.mu.Unlock()
	ep := next.Endpoints[len(next.Endpoints)-1]
	one := oneNetwork(next.Netavark, n.Name, false)
	st, err := m.nav.setup(ctx, next.NetNS, one)
	if err != nil {
		m.nav.teardown(context.WithoutCancel(ctx), next.NetNS, one)
		m.mu.Lock()
		if werr := m.writeAttachment(a); werr != nil {
			m.log.Error("cannot write the network attachment record", "container", id, "err", werr)
		}
		m.attachments[id] = a
		m.mu.Unlock()
		return Endpoint{}, fmt.Errorf("connect container %s to network %s: %w", a.ContainerName, n.Name, err)
	}
	m.mu.Lock()
	applyStatus(next, st)
	ep = next.Endpoints[len(next.Endpoints)-1]
	if err := m.writeAttachment(next); err != nil {
		m.log.Error("cannot write the network attachment record", "container", id, "err", err)
	}
	m.mu.Unlock()
	emit(events.NetworkConnected, n, events.Container(a.ContainerID, a.ContainerName)...)
	return ep, nil
}

// Disconnect takes running container id off network ref.
func (m *Manager) Disconnect(ctx context.Context, id, ref string) error {
	defer m.lockContainer(id)()
	m.mu.Lock()
	a := m.attachments[id]
	var n *Network
	var err error
	if a != nil {
		n, err = m.lookupLocked(ref)
	}
	m.mu.Unlock()
	if a == nil {
		return fmt.Errorf("container %s is not connected to network %s: %w", id, ref, errdefs.ErrNotFound)
	}
	if err != nil {
		return err
	}
	i := slices.IndexFunc(a.Endpoints, func(e Endpoint) bool { return e.NetworkID == n.ID })
	if i < 0 {
		return fmt.Errorf("container %s is not connected to network %s: %w", a.ContainerName, n.Name, errdefs.ErrNotFound)
	}
	ep := a.Endpoints[i]
	one := oneNetwork(a.Netavark, ep.NetworkName, ep.Ports)
	if err := m.nav.teardown(ctx, a.NetNS, one); err != nil {
		return fmt.Errorf("disconnect container %s from network %s: %w", a.ContainerName, n.Name, err)
	}
	next := a.clone()
	next.Netavark = cloneNav(a.Netavark)
	next.Endpoints = slices.Delete(next.Endpoints, i, i+1)
	delete(next.Netavark.Networks, ep.NetworkName)
	delete(next.Netavark.NetworkInfo, ep.NetworkName)
	if ep.Ports {
		next.Ports, next.Netavark.PortMappings = nil, nil
	}
	next.DNSServers = nil
	for _, e := range next.Endpoints {
		if len(e.DNSNames) > 0 {
			next.DNSServers = append(next.DNSServers, e.Gateway.String())
		}
	}
	m.mu.Lock()
	err = m.writeAttachment(next)
	m.attachments[id] = next
	m.mu.Unlock()
	emit(events.NetworkDisconnected, n, events.Container(a.ContainerID, a.ContainerName)...)
	return err
}

func freeInterface(a *Attachment) string {
	for i := 0; ; i++ {
		name := "eth" + strconv.Itoa(i)
		if !slices.ContainsFunc(a.Endpoints, func(e Endpoint) bool { return e.Interface == name }) {
			return name
		}
	}
}

func cloneNav(o navOptions) navOptions {
	c := o
	c.Networks = maps.Clone(o.Networks)
	c.NetworkInfo = maps.Clone(o.NetworkInfo)
	c.PortMappings = slices.Clone(o.PortMappings)
	return c
}

// oneNetwork is o for network name only (with the port mappings if
// ports).
func oneNetwork(o navOptions, name string, ports bool) navOptions {
	c := navOptions{
		ContainerID: o.ContainerID, ContainerName: o.ContainerName, DNSServers: o.DNSServers,
		Networks:    map[string]navPerNetwork{name: o.Networks[name]},
		NetworkInfo: map[string]navNetwork{name: o.NetworkInfo[name]},
	}
	if ports {
		c.PortMappings = o.PortMappings
	}
	return c
}

// Reconcile tears down every attachment whose run live says is over
// (after a crash of berthd, a monitor or a start), and removes network
// namespaces of berth's that no attachment owns.
func (m *Manager) Reconcile(ctx context.Context, live func(id, run string) bool) int {
	m.mu.Lock()
	var stale []*Attachment
	owned := map[string]bool{}
	for _, a := range m.attachments {
		owned[a.NetNS] = true
		if !live(a.ContainerID, a.Run) {
			stale = append(stale, a.clone())
		}
	}
	m.mu.Unlock()
	for _, a := range stale {
		m.log.Info("tearing down the network of a container that is gone or stopped", "container", a.ContainerID)
		m.Detach(ctx, a.ContainerID, a.Run)
	}
	ents, _ := os.ReadDir(m.netnsDir)
	for _, e := range ents {
		p := filepath.Join(m.netnsDir, e.Name())
		if strings.HasPrefix(e.Name(), "berth-") && !owned[p] {
			id := strings.TrimPrefix(e.Name(), "berth-")
			if m.Attachment(id) == nil {
				removeNetNS(p)
			}
		}
	}
	return len(stale)
}

// Users returns, per network id, the containers attached now with their
// endpoint (for docker's network inspect Containers).
func (m *Manager) Users(networkID string) map[string]Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Endpoint{}
	for _, a := range m.attachments {
		for _, e := range a.Endpoints {
			if e.NetworkID == networkID {
				out[a.ContainerID] = e
			}
		}
	}
	return out
}

// HostGateway is the address docker's host-gateway names: the default
// bridge's gateway.
func (m *Manager) HostGateway() (netip.Addr, error) {
	n, err := m.Get(Bridge)
	if err != nil || len(n.Subnets) == 0 {
		return netip.Addr{}, fmt.Errorf("host-gateway: the default bridge network has no gateway: %w", errs.NoSuchNetwork)
	}
	return n.Subnets[0].Gateway, nil
}
