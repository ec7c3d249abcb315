package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// The paths of Debian's netavark and aardvark-dns packages (podman's
// network stack).
const (
	DefaultNetavark = "/usr/lib/podman/netavark"
	DefaultAardvark = "/usr/lib/podman/aardvark-dns"
)

// The JSON that netavark setup and teardown read on stdin (its "network
// options", as podman's libnetwork writes them) and what setup prints.

type navOptions struct {
	ContainerID   string                   `json:"container_id"`
	ContainerName string                   `json:"container_name"`
	Networks      map[string]navPerNetwork `json:"networks"`
	NetworkInfo   map[string]navNetwork    `json:"network_info"`
	PortMappings  []navPortMapping         `json:"port_mappings,omitempty"`
	DNSServers    []string                 `json:"dns_servers,omitempty"`
}

type navPerNetwork struct {
	StaticIPs     []string `json:"static_ips"`
	Aliases       []string `json:"aliases"`
	InterfaceName string   `json:"interface_name"`
	StaticMAC     string   `json:"static_mac,omitempty"`
}

type navNetwork struct {
	Name             string            `json:"name"`
	ID               string            `json:"id"`
	Driver           string            `json:"driver"`
	NetworkInterface string            `json:"network_interface"`
	Subnets          []navSubnet       `json:"subnets"`
	IPv6Enabled      bool              `json:"ipv6_enabled"`
	Internal         bool              `json:"internal"`
	DNSEnabled       bool              `json:"dns_enabled"`
	IPAMOptions      map[string]string `json:"ipam_options"`
	Options          map[string]string `json:"options,omitempty"`
}

type navSubnet struct {
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
}

type navPortMapping struct {
	HostIP        string `json:"host_ip"`
	ContainerPort uint16 `json:"container_port"`
	HostPort      uint16 `json:"host_port"`
	Range         uint16 `json:"range"`
	Protocol      string `json:"protocol"`
}

type navStatus struct {
	DNSServerIPs     []string                `json:"dns_server_ips"`
	DNSSearchDomains []string                `json:"dns_search_domains"`
	Interfaces       map[string]navInterface `json:"interfaces"`
}

type navInterface struct {
	MACAddress string          `json:"mac_address"`
	Subnets    []navNetAddress `json:"subnets"`
}

type navNetAddress struct {
	IPNet   string `json:"ipnet"`
	Gateway string `json:"gateway"`
}

// netavark runs netavark's setup and teardown.
type netavark struct {
	// mu serializes the calls: a teardown of a network's last container
	// removes its bridge and chains while a setup on it would add to
	// them (podman serializes them under its network lock too).
	mu               sync.Mutex
	binary, aardvark string
	// configDir is netavark's --config: aardvark-dns's configuration
	// and pid files (runtime state: under exec-root).
	configDir string
}

// navTimeout bounds one netavark call (it runs iptables and may start
// aardvark-dns).
const navTimeout = 2 * time.Minute

// run calls netavark VERB netns with opts on stdin and returns stdout.
// netavark's JSON error ({"error": ...}) becomes the error's text.
func (n *netavark) run(ctx context.Context, verb, netns string, opts navOptions) ([]byte, error) {
	if err := os.MkdirAll(n.configDir, 0o700); err != nil {
		return nil, err
	}
	in, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.binary, "--config", n.configDir, "--rootless", "false",
		"--aardvark-binary", n.aardvark, verb, netns)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(msg), &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if _, serr := os.Stat(n.binary); serr != nil {
			return nil, fmt.Errorf("netavark %s: %s is missing (install Debian's netavark and aardvark-dns): %w", verb, n.binary, errdefs.ErrUnavailable)
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("netavark %s: %s", verb, msg)
	}
	return stdout.Bytes(), nil
}

// setup plumbs the networks of opts into netns; it returns netavark's
// status per network name.
func (n *netavark) setup(ctx context.Context, netns string, opts navOptions) (map[string]navStatus, error) {
	out, err := n.run(ctx, "setup", netns, opts)
	if err != nil {
		return nil, err
	}
	var st map[string]navStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("netavark setup: unreadable answer %q: %w", out, err)
	}
	return st, nil
}

// teardown undoes setup: the veths, firewall rules, port forwarding and
// DNS entries of opts' networks for the container.
func (n *netavark) teardown(ctx context.Context, netns string, opts navOptions) error {
	_, err := n.run(ctx, "teardown", netns, opts)
	return err
}
