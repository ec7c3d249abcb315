package lifecycle

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthd/berth/atomicfile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The host's files that a container's own are made from.
var (
	hostResolvConf = "/etc/resolv.conf"
	hostHosts      = "/etc/hosts"
	// resolvedConf lists systemd-resolved's upstream servers, used when
	// the host's resolv.conf names only its stub (127.0.0.53), as docker.
	resolvedConf = "/run/systemd/resolve/resolv.conf"
)

// defaultHosts is docker's /etc/hosts for a container without a network
// of its own to name.
const defaultHosts = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// fallbackNameservers are docker's when no usable nameserver is left.
var fallbackNameservers = []string{"8.8.8.8", "8.8.4.4"}

// DNS is what a container's name files say beyond the defaults: its
// resolv.conf's nameservers, search domains and options (docker's --dns,
// --dns-search, --dns-option; empty fields keep the host's lines) and
// extra /etc/hosts entries (docker's --add-host, "name:address" or
// "name=address"), all checked at create.
type DNS struct {
	Servers, Search, Options []string
	ExtraHosts               []string
	// Self are the container's own /etc/hosts entries ("IP\tNAME...",
	// docker's line for its address on its network).
	Self []string
	// HostGateway is the address that docker's --add-host
	// NAME:host-gateway stands for.
	HostGateway string
	// NetworkServers are the name servers of the container's networks
	// (aardvark-dns on each gateway): they replace every other
	// nameserver line, and Servers become their upstream servers.
	NetworkServers []string
}

// hostsFile is base with d's extra entries appended.
func hostsFile(base []byte, d DNS) []byte {
	out := bytes.NewBuffer(bytes.Clone(base))
	if len(base) > 0 && base[len(base)-1] != '\n' {
		out.WriteByte('\n')
	}
	for _, l := range d.Self {
		out.WriteString(l + "\n")
	}
	for _, h := range d.ExtraHosts {
		i := strings.IndexAny(h, ":=")
		if i < 0 {
			continue
		}
		addr := h[i+1:]
		if addr == hostGateway {
			addr = d.HostGateway
		}
		out.WriteString(addr + "\t" + h[:i] + "\n")
	}
	return out.Bytes()
}

// resolvConf makes a container's resolv.conf from the host's: with a
// network of its own (hostNet false) the loopback nameservers, which
// would be the container's own loopback, are dropped, and docker's
// public fallbacks are used when none is left. d's fields replace the
// host's lines of their kind.
func resolvConf(host []byte, hostNet bool, d DNS) []byte {
	var out bytes.Buffer
	var servers, other []string
	for _, line := range strings.Split(string(host), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "nameserver":
			if a, err := netip.ParseAddr(strings.Split(f[1], "%")[0]); err == nil && a.IsLoopback() && !hostNet {
				continue
			}
			servers = append(servers, f[1])
		case len(f) >= 1 && (f[0] == "search" || f[0] == "domain") && len(d.Search) > 0:
		case len(f) >= 1 && f[0] == "options" && len(d.Options) > 0:
		case strings.TrimSpace(line) != "":
			other = append(other, line)
		}
	}
	if len(d.Servers) > 0 {
		servers = d.Servers
	}
	if len(d.NetworkServers) > 0 {
		servers = d.NetworkServers
	}
	if len(servers) == 0 && !hostNet {
		servers = fallbackNameservers
	}
	for _, l := range other {
		out.WriteString(l + "\n")
	}
	if len(d.Search) > 0 {
		out.WriteString("search " + strings.Join(d.Search, " ") + "\n")
	}
	for _, s := range servers {
		out.WriteString("nameserver " + s + "\n")
	}
	if len(d.Options) > 0 {
		out.WriteString("options " + strings.Join(d.Options, " ") + "\n")
	}
	return out.Bytes()
}

// hostResolv reads the host's resolv.conf, or systemd-resolved's list
// of upstream servers when the host's names only the local stub.
func hostResolv() []byte {
	b, _ := os.ReadFile(hostResolvConf)
	stubOnly := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if f[1] != "127.0.0.53" {
				return b
			}
			stubOnly = true
		}
	}
	if stubOnly {
		if r, err := os.ReadFile(resolvedConf); err == nil {
			return r
		}
	}
	return b
}

// etcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into containerDir (hostname, hosts, resolv.conf) for
// a run and returns their bind mounts. With the host's network the
// container sees the host's names (copies of its files). A file is
// skipped when a mount of the container's own takes its place, or when
// the root file system is a directory of the user's (ownRootfs false)
// that lacks it: the runtime would have to create it there.
func etcFiles(containerDir, rootfs string, ownRootfs bool, hostname string, hostNet bool, mps []MountPoint, d DNS) ([]specs.Mount, error) {
	if hostNet {
		hostname, _ = os.Hostname()
	}
	hosts := []byte(defaultHosts)
	if hostNet {
		if b, err := os.ReadFile(hostHosts); err == nil {
			hosts = b
		}
	}
	files := []struct {
		name, target string
		body         []byte
	}{
		{"hostname", "/etc/hostname", []byte(hostname + "\n")},
		{"hosts", "/etc/hosts", hostsFile(hosts, d)},
		{"resolv.conf", "/etc/resolv.conf", resolvConf(hostResolv(), hostNet, d)},
	}
	var out []specs.Mount
	for _, f := range files {
		taken := false
		for _, mp := range mps {
			taken = taken || mp.Destination == f.target
		}
		if taken {
			continue
		}
		if !ownRootfs {
			if _, err := os.Lstat(filepath.Join(rootfs, f.target)); err != nil {
				continue
			}
		}
		p := filepath.Join(containerDir, f.name)
		if err := atomicfile.Write(p, f.body, 0o644); err != nil {
			return nil, err
		}
		out = append(out, specs.Mount{Destination: f.target, Type: "bind", Source: p, Options: []string{"rbind", "rprivate", "rw"}})
	}
	return out, nil
}
