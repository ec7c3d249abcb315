package dockerview

import (
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berthd/berth/lifecycle"
	berthnet "github.com/berthd/berth/network"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// NetworkSettings is inspect's NetworkSettings, as docker's: an endpoint
// per network the container is configured for (addresses only while it
// runs), and Ports: every exposed port, with its host bindings while it
// runs (null for one not published), {} when none.
func NetworkSettings(i lifecycle.Info) *container.NetworkSettings {
	ns := &container.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	mode := NetworkMode(i)
	switch {
	case mode == berthnet.Host || mode == berthnet.None:
		ns.Networks[mode] = &network.EndpointSettings{Aliases: []string{}, DNSNames: []string{}, Links: []string{}}
		return ns
	case strings.HasPrefix(mode, "container:"):
		return ns
	}
	for name, cfg := range i.Spec.Endpoints {
		ns.Networks[name] = endpointConfig(cfg)
	}
	a := i.Network
	if a == nil {
		return ns
	}
	ns.SandboxKey = a.NetNS
	for _, e := range a.Endpoints {
		es := ns.Networks[e.NetworkName]
		if es == nil {
			es = endpointConfig(e.Config)
			ns.Networks[e.NetworkName] = es
		}
		es.NetworkID = e.NetworkID
		es.EndpointID = e.ID
		es.Gateway = e.Gateway
		es.IPAddress = e.Address.Addr()
		es.IPPrefixLen = e.Address.Bits()
		if mac, err := net.ParseMAC(e.MacAddress); err == nil {
			es.MacAddress = network.HardwareAddr(mac)
		}
		es.DNSNames = OrEmpty(e.DNSNames)
	}
	for _, p := range i.Spec.ExposedPorts {
		if port, err := network.ParsePort(p); err == nil {
			ns.Ports[port] = nil
		}
	}
	for _, p := range a.Ports {
		port, ok := network.PortFrom(p.ContainerPort, network.IPProtocol(p.Protocol))
		if !ok {
			continue
		}
		ns.Ports[port] = append(ns.Ports[port], network.PortBinding{HostIP: hostIP(p.HostIP), HostPort: strconv.Itoa(int(p.HostPort))})
	}
	return ns
}

// endpointConfig is an endpoint as asked for (docker shows a stopped
// container's networks with their configuration only).
func endpointConfig(c berthnet.EndpointConfig) *network.EndpointSettings {
	es := &network.EndpointSettings{Aliases: OrEmpty(slices.Clone(c.Aliases)), Links: []string{}, DNSNames: []string{}, DriverOpts: map[string]string{}}
	if ip, err := netip.ParseAddr(c.IPv4Address); err == nil {
		es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
	}
	return es
}

// hostIP is a published port's host address: 0.0.0.0 for every address,
// as docker shows it.
func hostIP(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a
	}
	return netip.IPv4Unspecified()
}

// PortBindings is HostConfig.PortBindings: the bindings as asked for.
func PortBindings(i lifecycle.Info) network.PortMap {
	out := network.PortMap{}
	for k, l := range i.Spec.PortBindings {
		port, err := network.ParsePort(k)
		if err != nil {
			continue
		}
		bs := []network.PortBinding{}
		for _, b := range l {
			pb := network.PortBinding{HostPort: b.HostPort}
			if a, err := netip.ParseAddr(b.HostIP); err == nil {
				pb.HostIP = a
			}
			bs = append(bs, pb)
		}
		out[port] = bs
	}
	return out
}

// ExposedPorts is Config.ExposedPorts (nil when none, as docker omits it).
func ExposedPorts(i lifecycle.Info) network.PortSet {
	if len(i.Spec.ExposedPorts) == 0 {
		return nil
	}
	out := network.PortSet{}
	for _, p := range i.Spec.ExposedPorts {
		if port, err := network.ParsePort(p); err == nil {
			out[port] = struct{}{}
		}
	}
	return out
}

// PortSummaries are a list row's Ports: each published port (and each
// exposed one without a binding), in docker's order; a container that
// ran and stopped has none (docker clears them at the stop), one never
// started its exposed ones.
func PortSummaries(i lifecycle.Info) []container.PortSummary {
	out := []container.PortSummary{}
	if i.Network == nil && i.Run != nil {
		return out
	}
	published := map[string]bool{}
	if a := i.Network; a != nil {
		for _, p := range a.Ports {
			out = append(out, container.PortSummary{IP: hostIP(p.HostIP), PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Protocol})
			published[p.Key()] = true
		}
	}
	for _, e := range i.Spec.ExposedPorts {
		if published[e] {
			continue
		}
		n, proto, err := berthnet.ParsePort(e)
		if err == nil {
			out = append(out, container.PortSummary{PrivatePort: n, Type: proto})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].PrivatePort != out[b].PrivatePort {
			return out[a].PrivatePort < out[b].PrivatePort
		}
		return out[a].Type < out[b].Type
	})
	return out
}

// legacyNetworkFields are the top-level NetworkSettings fields that API
// versions before 1.52 carry (IPAddress, Gateway, MacAddress...), docker
// filled them from the default bridge network's endpoint only.
func legacyNetworkFields(ns *container.NetworkSettings) map[string]any {
	out := map[string]any{
		"Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
		"SecondaryIPAddresses": nil, "SecondaryIPv6Addresses": nil, "EndpointID": "", "Gateway": "",
		"GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
	}
	if ns == nil {
		return out
	}
	if e := ns.Networks[berthnet.Bridge]; e != nil && e.IPAddress.IsValid() {
		out["EndpointID"] = e.EndpointID
		out["Gateway"] = e.Gateway.String()
		out["IPAddress"] = e.IPAddress.String()
		out["IPPrefixLen"] = e.IPPrefixLen
		out["MacAddress"] = e.MacAddress.String()
		out["Bridge"] = berthnet.DefaultInterface
	}
	return out
}
