package contract

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

// PortsColumn is ps's PORTS column as docker's CLI prints a row's ports:
// ports whose host port equals the container port, and exposed ports
// that are not published, are grouped into ranges of consecutive ports
// ("0.0.0.0:80-81->80-81/tcp", "53/udp"); other bindings are listed one
// by one after them ("0.0.0.0:8080->80/tcp").
func PortsColumn(ports []PortEntry) string {
	ps := slices.Clone(ports)
	slices.SortFunc(ps, func(a, b PortEntry) int {
		if a.PrivatePort != b.PrivatePort {
			return int(a.PrivatePort) - int(b.PrivatePort)
		}
		if a.PublicPort != b.PublicPort {
			return int(a.PublicPort) - int(b.PublicPort)
		}
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.IP, b.IP)
	})
	type run struct {
		ip, proto   string
		first, last uint16
	}
	var runs []*run // open ranges, by first appearance
	var out, mapped []string
	format := func(r *run) string {
		ports := strconv.Itoa(int(r.first))
		if r.last != r.first {
			ports += "-" + strconv.Itoa(int(r.last))
		}
		if r.ip == "" {
			return ports + "/" + r.proto
		}
		return net.JoinHostPort(r.ip, ports) + "->" + ports + "/" + r.proto
	}
	for _, p := range ps {
		if p.IP != "" && p.PublicPort != p.PrivatePort {
			mapped = append(mapped, net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort)))+"->"+strconv.Itoa(int(p.PrivatePort))+"/"+p.Type)
			continue
		}
		i := slices.IndexFunc(runs, func(r *run) bool { return r.ip == p.IP && r.proto == p.Type })
		if i < 0 {
			runs = append(runs, &run{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort})
			continue
		}
		if r := runs[i]; p.PrivatePort == r.last+1 {
			r.last = p.PrivatePort
			continue
		}
		out = append(out, format(runs[i]))
		runs[i] = &run{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
	}
	for _, r := range runs {
		out = append(out, format(r))
	}
	return strings.Join(append(out, mapped...), ", ")
}
