package dockerview

import (
	"maps"
	"net"

	"github.com/berthd/berth/lifecycle"
	berthnet "github.com/berthd/berth/network"
	"github.com/moby/moby/api/types/network"
)

// Network is docker's network inspect of n: users are the containers
// attached now (by container id, as network.Manager.Users gives them) and
// names gives a container's name from its id (nil: names are left
// empty). The default bridge carries
// docker's options naming its bridge interface; host and none have no
// addresses. Maps and lists are {} and [], never null.
func Network(n *berthnet.Network, users map[string]berthnet.Endpoint, names func(id string) string) network.Inspect {
	ipam := network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}}
	for _, s := range n.Subnets {
		ipam.Config = append(ipam.Config, network.IPAMConfig{Subnet: s.Subnet, Gateway: s.Gateway, IPRange: s.IPRange})
	}
	opts := maps.Clone(n.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	if n.Name == berthnet.Bridge && n.Driver == berthnet.DriverBridge {
		opts["com.docker.network.bridge.default_bridge"] = "true"
		opts["com.docker.network.bridge.name"] = n.Interface
		opts["com.docker.network.bridge.enable_ip_masquerade"] = "true"
	}
	out := network.Inspect{
		Network: network.Network{
			Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
			EnableIPv4: n.Driver == berthnet.DriverBridge, IPAM: ipam, Internal: n.Internal,
			Options: opts, Labels: OrEmptyMap(maps.Clone(n.Labels)),
		},
		Containers: map[string]network.EndpointResource{},
	}
	for id, e := range users {
		name := ""
		if names != nil {
			name = names(id)
		}
		mac, _ := net.ParseMAC(e.MacAddress)
		out.Containers[id] = network.EndpointResource{
			Name: name, EndpointID: e.ID, MacAddress: network.HardwareAddr(mac), IPv4Address: e.Address,
		}
	}
	return out
}

// NetworkOf is Network with the containers' names taken from containers
// (lifecycle.Manager.List), and on host and none, which have no
// endpoints, the live containers in that network mode, as docker lists
// them there.
func NetworkOf(n *berthnet.Network, users map[string]berthnet.Endpoint, containers []lifecycle.Info) network.Inspect {
	names := map[string]string{}
	for _, i := range containers {
		names[i.ID] = i.Name
	}
	v := Network(n, users, func(id string) string { return names[id] })
	if n.Driver != berthnet.DriverBridge {
		for _, i := range containers {
			if i.State.Live() && NetworkMode(i) == n.Name {
				v.Containers[i.ID] = network.EndpointResource{Name: i.Name}
			}
		}
	}
	return v
}
