package lifecycle

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/berthd/berth/network"
	"github.com/berthd/berth/ocispec"
)

// clone copies the collections of the run options, so that an Info
// shares nothing with the record.
func (s *Spec) cloneOptions() {
	s.Labels = maps.Clone(s.Labels)
	s.Sysctls = maps.Clone(s.Sysctls)
	for _, l := range []*[]string{&s.CapAdd, &s.CapDrop, &s.ExtraHosts, &s.DNS, &s.DNSSearch, &s.DNSOptions, &s.GroupAdd, &s.SecurityOpt} {
		*l = slices.Clone(*l)
	}
	s.Devices = slices.Clone(s.Devices)
	s.Ulimits = slices.Clone(s.Ulimits)
	s.ExposedPorts = slices.Clone(s.ExposedPorts)
	if s.Healthcheck != nil {
		hc := *s.Healthcheck
		hc.Test = slices.Clone(hc.Test)
		s.Healthcheck = &hc
	}
	if s.Endpoints != nil {
		eps := make(map[string]network.EndpointConfig, len(s.Endpoints))
		for k, e := range s.Endpoints {
			e.Aliases = slices.Clone(e.Aliases)
			eps[k] = e
		}
		s.Endpoints = eps
	}
	if s.PortBindings != nil {
		pb := make(network.PortMap, len(s.PortBindings))
		for k, l := range s.PortBindings {
			pb[k] = slices.Clone(l)
		}
		s.PortBindings = pb
	}
}

// hostGateway is docker's --add-host address for the host as the
// containers reach it: the default bridge network's gateway.
const hostGateway = "host-gateway"

// ParseExtraHost reads one --add-host, docker's "NAME:IP" (or
// "NAME=IP"; an IPv6 address may be in brackets), into the name and the
// address. "host-gateway" gives the zero address: the default bridge
// network's gateway, found at each start.
func ParseExtraHost(v string) (name string, ip netip.Addr, err error) {
	name, addr, ok := strings.Cut(v, "=")
	if !ok {
		name, addr, ok = strings.Cut(v, ":")
	}
	if !ok || name == "" || strings.ContainsAny(name, " \t\n#") {
		return "", ip, invalid("add-host %s: want NAME:IP", quote(v))
	}
	if addr == hostGateway {
		return name, ip, nil // the zero address: resolved at each start
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if ip, err = netip.ParseAddr(addr); err != nil {
		return "", ip, invalid("add-host %s: %s is not an IP address", quote(v), quote(addr))
	}
	return name, ip, nil
}

// checkOptions checks docker's run options that need no root file
// system: labels, name resolution entries, and (through ocispec) the
// capabilities, devices, ulimits, sysctls, security options, namespaces
// and init against this host.
func checkOptions(s *Spec) error {
	for k := range s.Labels {
		if k == "" {
			return invalid("label %s: the name is empty", quote(k+"="+s.Labels[k]))
		}
	}
	for _, h := range s.ExtraHosts {
		if _, _, err := ParseExtraHost(h); err != nil {
			return err
		}
	}
	for _, d := range s.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return invalid("dns %s: not an IP address", quote(d))
		}
	}
	for _, d := range s.DNSSearch {
		if d != "." && (len(d) > 255 || !hostnameRE.MatchString(strings.TrimSuffix(d, "."))) {
			return invalid("dns-search %s: not a domain name", quote(d))
		}
	}
	for _, o := range s.DNSOptions {
		if o == "" || strings.ContainsAny(o, " \t\n") {
			return invalid("dns-option %s: want one option without spaces (e.g. ndots:2)", quote(o))
		}
	}
	return ocispec.CheckHostConfig(specOptions(s, ""))
}

// resetEntrypoint applies docker's rule for an entrypoint of one empty
// string (--entrypoint ”): it only kept the image's out; none is set.
func resetEntrypoint(s *Spec) {
	if len(s.Entrypoint) == 1 && s.Entrypoint[0] == "" {
		s.Entrypoint = nil
	}
}
