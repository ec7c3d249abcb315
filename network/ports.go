package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sys/unix"
)

// PortBinding is where one container port is published on the host, in
// docker's shape (HostConfig.PortBindings): HostIP "" is every address of
// the host; HostPort "" a random free port, "N" that port, "N-M" the first
// free one of the range.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// PortMap maps a container port ("80/tcp", "53/udp") to its bindings, as
// docker's nat.PortMap.
type PortMap map[string][]PortBinding

// ParsePortSpecs reads docker's -p values ([IP:][HOSTPORT:]CTRPORT[/PROTO],
// ports or ranges) with docker's own parser (go-connections/nat): the
// container ports they expose ("80/tcp") and their bindings. The error
// names the value.
func ParsePortSpecs(specs []string) ([]string, PortMap, error) {
	for _, s := range specs {
		if _, err := nat.ParsePortSpec(s); err != nil {
			return nil, nil, fmt.Errorf("publish %q: %v: %w", s, err, errdefs.ErrInvalidArgument)
		}
	}
	exp, b, err := nat.ParsePortSpecs(specs)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var exposed []string
	for p := range exp {
		exposed = append(exposed, string(p))
	}
	sort.Strings(exposed)
	out := PortMap{}
	for p, l := range b {
		for _, pb := range l {
			out[string(p)] = append(out[string(p)], PortBinding{HostIP: pb.HostIP, HostPort: pb.HostPort})
		}
	}
	return exposed, out, nil
}

// MaxPorts bounds the ports one container publishes or exposes: each
// published port is a firewall rule and a check of the host port, and a
// range of tens of thousands would hold a start (and every other) for
// minutes.
const MaxPorts = 1024

// CheckPortMap refuses a port map that ParsePortSpecs would not give
// (from the Engine API: HostConfig.PortBindings), naming the entry, and
// one of more than MaxPorts bindings.
func CheckPortMap(m PortMap) error {
	n := 0
	for _, l := range m {
		n += max(len(l), 1)
	}
	if n > MaxPorts {
		return invalid("publish: %d ports asked, at most %d per container", n, MaxPorts)
	}
	for p, l := range m {
		if _, _, err := ParsePort(p); err != nil {
			return err
		}
		for _, b := range l {
			if b.HostIP != "" {
				a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(b.HostIP, "["), "]"))
				if err != nil {
					return invalid("port %s: host IP %q is not an IP address", p, b.HostIP)
				}
				if !a.Is4() && !a.IsUnspecified() {
					return fmt.Errorf("port %s: host IP %s: IPv6 is not supported: %w", p, a, errdefs.ErrNotImplemented)
				}
			}
			if b.HostPort != "" {
				if _, _, err := nat.ParsePortRangeToInt(b.HostPort); err != nil {
					return invalid("port %s: host port %q: %v", p, b.HostPort, err)
				}
			}
		}
	}
	return nil
}

// ParsePort reads a container port, "80", "80/tcp" or "53/udp" (sctp is
// refused: netavark forwards tcp and udp).
func ParsePort(p string) (uint16, string, error) {
	proto, port := nat.SplitProtoPort(p)
	if proto != "tcp" && proto != "udp" {
		return 0, "", invalid("port %q: protocol %q: want tcp or udp", p, proto)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return 0, "", invalid("port %q: want a port number from 1 to 65535", p)
	}
	return uint16(n), proto, nil
}

// Port is one published port as set up for a run: HostPort resolved.
type Port struct {
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Protocol      string `json:"protocol"`
}

// Key is the container port as docker writes it ("80/tcp").
func (p Port) Key() string { return strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol }

// clash reports whether two host bindings take the same host socket.
func clash(a, b Port) bool {
	if a.Protocol != b.Protocol || a.HostPort != b.HostPort {
		return false
	}
	return a.HostIP == "" || b.HostIP == "" || a.HostIP == "0.0.0.0" || b.HostIP == "0.0.0.0" || a.HostIP == b.HostIP
}

// probe reports whether the host port of p is free: a listen (tcp) or
// bind (udp) on it works. A port taken by a process of the host is
// refused before the container starts (docker's "port is already
// allocated").
func probe(p Port) error {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
	var err error
	if p.Protocol == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("cannot publish %s on %s: the host port is already in use: %w", p.Key(), addr, errdefs.ErrConflict)
	}
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("cannot publish %s on %s: %s is not an address of this host: %w", p.Key(), addr, ip, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("cannot publish %s on %s: %w", p.Key(), addr, err)
}

// randomPort asks the kernel for a free ephemeral port of proto on ip.
func randomPort(ip, proto string) (uint16, error) {
	if ip == "" {
		ip = "0.0.0.0"
	}
	addr := net.JoinHostPort(ip, "0")
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// resolvePorts gives every binding of m (and, with all, every port of
// exposed without one: docker's -P) a free host port, skipping those in
// taken (other containers' published ports). A fixed port that is taken
// is refused; a range gives its first free port.
func resolvePorts(m PortMap, exposed []string, all bool, taken []Port) ([]Port, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if all {
		for _, e := range exposed {
			if _, ok := m[e]; !ok {
				keys = append(keys, e)
			}
		}
	}
	sort.Strings(keys)
	var out []Port
	free := func(p Port) error {
		for _, t := range slices.Concat(taken, out) {
			if clash(p, t) {
				return fmt.Errorf("cannot publish %s on %s:%d: the host port is already published by another container: %w",
					p.Key(), orAll(p.HostIP), p.HostPort, errdefs.ErrConflict)
			}
		}
		return probe(p)
	}
	for _, k := range keys {
		cport, proto, err := ParsePort(k)
		if err != nil {
			return nil, err
		}
		binds := m[k]
		if len(binds) == 0 {
			binds = []PortBinding{{}}
		}
		for _, b := range binds {
			p := Port{HostIP: strings.TrimSuffix(strings.TrimPrefix(b.HostIP, "["), "]"), ContainerPort: cport, Protocol: proto}
			if p.HostIP == "0.0.0.0" {
				p.HostIP = ""
			}
			switch {
			case b.HostPort == "" || b.HostPort == "0":
				var err error
				for try := 0; try < 20; try++ {
					if p.HostPort, err = randomPort(p.HostIP, proto); err != nil {
						return nil, fmt.Errorf("cannot publish %s: no free host port: %w", k, err)
					}
					if err = free(p); err == nil {
						break
					}
				}
				if err != nil {
					return nil, err
				}
			default:
				lo, hi, err := nat.ParsePortRangeToInt(b.HostPort)
				if err != nil {
					return nil, invalid("port %s: host port %q: %v", k, b.HostPort, err)
				}
				var last error
				for hp := lo; hp <= hi; hp++ {
					p.HostPort = uint16(hp)
					if last = free(p); last == nil {
						break
					}
				}
				if last != nil {
					if lo != hi {
						return nil, fmt.Errorf("cannot publish %s: no free host port in %s: %w", k, b.HostPort, last)
					}
					return nil, last
				}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

// ParseExpose reads docker's --expose values (PORT[/PROTO] or a range
// START-END[/PROTO]) into container ports ("80/tcp").
func ParseExpose(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		if len(out) > MaxPorts {
			break
		}
		proto, ports := nat.SplitProtoPort(v)
		if proto != "tcp" && proto != "udp" {
			return nil, invalid("expose %q: protocol %q: want tcp or udp", v, proto)
		}
		lo, hi, err := nat.ParsePortRangeToInt(ports)
		if err != nil || lo == 0 {
			return nil, invalid("expose %q: want PORT[/PROTO] or START-END[/PROTO] with ports from 1 to 65535", v)
		}
		for p := lo; p <= hi; p++ {
			k := strconv.Itoa(p) + "/" + proto
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
			if len(out) > MaxPorts {
				break
			}
		}
	}
	if len(out) > MaxPorts {
		return nil, invalid("expose: more than %d ports asked, at most %d per container", MaxPorts, MaxPorts)
	}
	return out, nil
}
