package network

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/events"
	"github.com/containerd/errdefs"
)

// Version is the format version of a network's record (network.json) and
// of a container's attachment record.
const Version = 1

// The predefined networks, with docker's names: Bridge is the default
// bridge network (its interface is DefaultInterface), Host the host's own
// network namespace and None a namespace with only a loopback.
const (
	Bridge = "bridge"
	Host   = "host"
	None   = "none"
)

// Drivers as docker names them: bridge for berth's networks, host and
// null for the predefined host and none.
const (
	DriverBridge = "bridge"
	DriverHost   = "host"
	DriverNull   = "null"
)

// DefaultInterface is the bridge of the default network (docker's is
// docker0, podman's podman0).
const DefaultInterface = "berth0"

// NameRE is what a network name must match (docker's rule for names of
// objects).
var NameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// MaxNameLen bounds network names.
const MaxNameLen = 128

// Subnet is one address range of a network and its gateway (the bridge's
// address).
type Subnet struct {
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	// IPRange, when set, is where addresses are given from (docker's
	// --ip-range): a part of Subnet. An address asked for may be
	// anywhere in Subnet.
	IPRange netip.Prefix `json:"ip_range,omitzero"`
}

// Network is a network's record (network.json under
// data-root/networks/ID).
type Network struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Driver  string `json:"driver"`
	// Interface is the Linux bridge on the host (br- and the id's first
	// 12 digits, as docker; berth0 for the default network).
	Interface string   `json:"interface,omitempty"`
	Subnets   []Subnet `json:"subnets,omitempty"`
	// Internal networks have no route out (no masquerade), as docker's
	// --internal.
	Internal bool `json:"internal,omitempty"`
	// DNSEnabled: containers on the network resolve each other's names
	// (docker's rule: every user-defined network, never the default
	// bridge).
	DNSEnabled bool              `json:"dns_enabled,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	Created    time.Time         `json:"created"`
}

// Predefined reports whether n is one of bridge, host and none, which
// cannot be removed.
func (n *Network) Predefined() bool {
	return n.Name == Bridge || n.Name == Host || n.Name == None
}

func (n *Network) clone() *Network {
	c := *n
	c.Subnets = slices.Clone(n.Subnets)
	c.Labels = maps.Clone(n.Labels)
	c.Options = maps.Clone(n.Options)
	return &c
}

// predefinedID is the stable id of host and none (and of the default
// bridge): 64 hex digits, derived from the name.
func predefinedID(name string) string {
	sum := sha256.Sum256([]byte("io.berth.network:" + name))
	return hex.EncodeToString(sum[:])
}

// defaultPools are where networks without --subnet get theirs, in
// order: docker's default address pools (172.17-31.0.0/16, then /20s of
// 192.168.0.0/16). A pool that overlaps a network of berth's or a route
// of the host's is skipped.
func defaultPools() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// overlaps reports whether two prefixes share an address.
func overlaps(a, b netip.Prefix) bool {
	return a.Overlaps(b)
}

// hostRoutes lists the IPv4 destinations of the host's routing table
// (/proc/net/route), default routes left out: a network must not take
// addresses the host already reaches another way (docker's rule).
func hostRoutes() []netip.Prefix {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netip.Prefix
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(fl[1], 16, 32)
		mask, err2 := strconv.ParseUint(fl[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		var d, mk [4]byte
		binary.LittleEndian.PutUint32(d[:], uint32(dst))
		binary.LittleEndian.PutUint32(mk[:], uint32(mask))
		ones := 0
		for _, b := range mk {
			for ; b&0x80 != 0; b <<= 1 {
				ones++
			}
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(d), ones).Masked())
	}
	return out
}

// CreateOptions are docker's network create options that berth takes.
type CreateOptions struct {
	Name   string
	Driver string // "" or bridge
	// Subnet (CIDR) and Gateway (an address in it) are optional: without
	// a subnet, one is taken from the default pools; without a gateway,
	// the subnet's first address.
	Subnet   string
	Gateway  string
	IPRange  string
	Internal bool
	Labels   map[string]string
	Options  map[string]string
	// CheckDuplicate is implied: a name is never used twice.
}

// Check refuses options that cannot make a network, naming the value.
func (o CreateOptions) Check() error {
	if o.Name == "" {
		return invalid("network name is empty")
	}
	if len(o.Name) > MaxNameLen || !NameRE.MatchString(o.Name) {
		return invalid("network name %q: want [a-zA-Z0-9][a-zA-Z0-9_.-]* of at most %d characters", o.Name, MaxNameLen)
	}
	switch o.Name {
	case Bridge, Host, None, "default":
		return fmt.Errorf("network name %q: %q is a predefined network: %w", o.Name, o.Name, errdefs.ErrPermissionDenied)
	}
	if o.Driver != "" && o.Driver != DriverBridge {
		return invalid("network driver %q: berth has the bridge driver only", o.Driver)
	}
	if o.Gateway != "" && o.Subnet == "" {
		return invalid("gateway %q: needs a subnet", o.Gateway)
	}
	if o.IPRange != "" && o.Subnet == "" {
		return invalid("ip-range %q: needs a subnet", o.IPRange)
	}
	for k := range o.Options {
		switch k {
		case "com.docker.network.bridge.name", "com.docker.network.driver.mtu", "com.docker.network.bridge.enable_icc",
			"com.docker.network.bridge.enable_ip_masquerade", "com.docker.network.bridge.host_binding_ipv4":
			return fmt.Errorf("network option %q: not supported: %w", k, errdefs.ErrNotImplemented)
		}
		return fmt.Errorf("network option %q: unknown: %w", k, errdefs.ErrInvalidArgument)
	}
	if o.Subnet != "" {
		p, _, err := parseSubnet(o.Subnet, o.Gateway)
		if err != nil {
			return err
		}
		if _, err := parseIPRange(p, o.IPRange); err != nil {
			return err
		}
	}
	return nil
}

// parseIPRange reads an ip-range ("" for none): a CIDR range inside
// subnet, given by its network address.
func parseIPRange(subnet netip.Prefix, r string) (netip.Prefix, error) {
	if r == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(r)
	if err != nil || !p.Addr().Is4() {
		return p, invalid("ip-range %q: not an IPv4 CIDR range (say 10.10.0.128/25)", r)
	}
	if p.Masked() != p {
		return p, invalid("ip-range %q: not a network address (did you mean %s?)", r, p.Masked())
	}
	if p.Bits() < subnet.Bits() || !subnet.Contains(p.Addr()) {
		return p, invalid("ip-range %s: not inside subnet %s", p, subnet)
	}
	return p, nil
}

// parseSubnet reads a CIDR subnet and an optional gateway in it. The
// subnet must be IPv4 with room for a gateway and a container (at most
// /30) and be given by its network address.
func parseSubnet(subnet, gateway string) (netip.Prefix, netip.Addr, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return p, netip.Addr{}, invalid("subnet %q: not a CIDR subnet (say 10.10.0.0/24)", subnet)
	}
	if !p.Addr().Is4() {
		return p, netip.Addr{}, fmt.Errorf("subnet %q: IPv6 networks are not supported: %w", subnet, errdefs.ErrNotImplemented)
	}
	if p.Masked() != p {
		return p, netip.Addr{}, invalid("subnet %q: not a network address (did you mean %s?)", subnet, p.Masked())
	}
	if p.Bits() > 30 || p.Bits() < 8 {
		return p, netip.Addr{}, invalid("subnet %q: want a prefix length from /8 to /30", subnet)
	}
	for _, r := range specialRanges {
		if p.Overlaps(r.p) {
			return p, netip.Addr{}, invalid("subnet %q: overlaps %s, the %s range", subnet, r.p, r.what)
		}
	}
	var gw netip.Addr
	if gateway != "" {
		gw, err = netip.ParseAddr(gateway)
		if err != nil || !gw.Is4() {
			return p, gw, invalid("gateway %q: not an IPv4 address", gateway)
		}
		if !p.Contains(gw) || gw == p.Addr() || gw == broadcast(p) {
			return p, gw, invalid("gateway %s: not a host address of subnet %s", gw, p)
		}
	} else {
		gw = p.Addr().Next()
	}
	return p, gw, nil
}

// specialRanges are IPv4 ranges that are no place for a network of
// containers (RFC 6890): the host's loopback, "this network", link-local,
// multicast and the reserved range.
var specialRanges = []struct {
	p    netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

// broadcast is p's last address.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
}

// Store holds the networks under one data-root and the containers'
// attachments to them (see Manager).
type store struct {
	root string // data-root/networks
	log  *slog.Logger

	mu   sync.Mutex
	nets map[string]*Network // by id
}

func (s *store) dir(id string) string { return filepath.Join(s.root, id) }

// load reads every network record under root.
func (s *store) load() error {
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			os.RemoveAll(filepath.Join(s.root, e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.root, e.Name(), "network.json"))
		if err != nil {
			s.log.Error("unreadable network, skipped", "network", e.Name(), "err", err)
			continue
		}
		var n Network
		if err := json.Unmarshal(b, &n); err != nil || n.ID != e.Name() {
			s.log.Error("unreadable network record, skipped", "network", e.Name(), "err", err)
			continue
		}
		if n.Version > Version {
			s.log.Error("network record from a newer berthd, skipped", "network", n.Name, "version", n.Version)
			continue
		}
		s.nets[n.ID] = &n
	}
	return nil
}

// write stores n's record atomically (its directory first).
func (s *store) write(n *Network) error {
	if err := os.MkdirAll(s.dir(n.ID), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir(n.ID), "network.json"), n, 0o600)
}

// lookupLocked finds a network by full id, name or unique id prefix
// (docker's order); predefined host and none included.
func (s *store) lookupLocked(ref string) (*Network, error) {
	if ref == "" {
		return nil, invalid("network name is empty")
	}
	if n, ok := s.nets[ref]; ok {
		return n, nil
	}
	for _, n := range s.nets {
		if n.Name == ref {
			return n, nil
		}
	}
	var found *Network
	if len(ref) >= 1 && isHex(ref) {
		for id, n := range s.nets {
			if strings.HasPrefix(id, ref) {
				if found != nil {
					return nil, fmt.Errorf("network %q: the id prefix is ambiguous: %w", ref, errdefs.ErrInvalidArgument)
				}
				found = n
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("network %s not found: %w", ref, errs.NoSuchNetwork)
	}
	return found, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// freeSubnetLocked takes the first default pool that overlaps neither a
// network of berth's nor a route of the host's.
func (s *store) freeSubnetLocked(routes []netip.Prefix) (netip.Prefix, error) {
	for _, p := range defaultPools() {
		if s.overlapLocked(p) == nil && !overlapsAny(p, routes) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free subnet left in the default pools (give one with --subnet): %w", errdefs.ErrUnavailable)
}

func overlapsAny(p netip.Prefix, l []netip.Prefix) bool {
	for _, q := range l {
		if overlaps(p, q) {
			return true
		}
	}
	return false
}

// overlapLocked is the network whose subnet overlaps p, or nil.
func (s *store) overlapLocked(p netip.Prefix) *Network {
	for _, n := range s.nets {
		for _, sn := range n.Subnets {
			if overlaps(sn.Subnet, p) {
				return n
			}
		}
	}
	return nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sortNetworks orders networks by name.
func sortNetworks(l []*Network) {
	sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
}

func emit(k events.Kind, n *Network, fields ...events.Field) {
	events.Emit(k, "berthd", fmt.Sprintf("network %s: %s", n.Name, k.Action),
		append([]events.Field{{Name: events.FieldNetworkID, Value: n.ID}, {Name: events.FieldNetworkName, Value: n.Name}}, fields...)...)
}
