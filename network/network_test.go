package network

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestCreateIPRange(t *testing.T) {
	dataRoot := t.TempDir()
	m, err := Open(Options{DataRoot: dataRoot, ExecRoot: t.TempDir(), NetNSDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, subnet, ipRange, want string
	}{
		{"no subnet", "", "10.77.0.128/25", "needs a subnet"},
		{"outside", "10.77.0.0/24", "10.78.0.0/25", "not inside subnet"},
		{"larger", "10.77.0.0/24", "10.77.0.0/23", "not inside subnet"},
		{"wider", "10.77.0.0/24", "10.76.0.0/22", "not inside subnet"},
		{"host bits", "10.77.0.0/24", "10.77.0.130/25", "not a network address"},
		{"not a range", "10.77.0.0/24", "abc", "not an IPv4 CIDR range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Create(CreateOptions{Name: "n", Subnet: tc.subnet, IPRange: tc.ipRange})
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an invalid argument with %q", err, tc.want)
			}
		})
	}
	n, err := m.Create(CreateOptions{Name: "ranged", Subnet: "10.77.0.0/24", IPRange: "10.77.0.128/30"})
	if err != nil {
		t.Fatal(err)
	}
	// The record keeps the range over a reopen.
	m2, err := Open(Options{DataRoot: dataRoot, ExecRoot: t.TempDir(), NetNSDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m2.Get("ranged")
	if err != nil || got.Subnets[0].IPRange != netip.MustParsePrefix("10.77.0.128/30") || got.ID != n.ID {
		t.Fatalf("reopened: %+v %v", got, err)
	}
}

func TestFirstFree(t *testing.T) {
	addr := netip.MustParseAddr
	used := func(ips ...string) map[netip.Addr]string {
		m := map[netip.Addr]string{}
		for _, ip := range ips {
			m[addr(ip)] = "c"
		}
		return m
	}
	sn := Subnet{Subnet: netip.MustParsePrefix("10.77.0.0/24"), Gateway: addr("10.77.0.1")}
	ranged := sn
	ranged.IPRange = netip.MustParsePrefix("10.77.0.128/30")
	top := sn
	top.IPRange = netip.MustParsePrefix("10.77.0.252/30")
	bottom := sn
	bottom.IPRange = netip.MustParsePrefix("10.77.0.0/30")
	for _, tc := range []struct {
		name string
		sn   Subnet
		used map[netip.Addr]string
		want string
	}{
		{"first after the gateway", sn, nil, "10.77.0.2"},
		{"skips used", sn, used("10.77.0.2", "10.77.0.3"), "10.77.0.4"},
		{"range start", ranged, nil, "10.77.0.128"},
		{"range end", ranged, used("10.77.0.128", "10.77.0.129", "10.77.0.130"), "10.77.0.131"},
		{"range full", ranged, used("10.77.0.128", "10.77.0.129", "10.77.0.130", "10.77.0.131"), "invalid IP"},
		{"range at the top: no broadcast", top, used("10.77.0.252", "10.77.0.253"), "10.77.0.254"},
		{"range at the top full", top, used("10.77.0.252", "10.77.0.253", "10.77.0.254"), "invalid IP"},
		{"range at the bottom: no network address or gateway", bottom, nil, "10.77.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstFree(tc.sn, tc.used).String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestEndpointMAC(t *testing.T) {
	if got := macFor(netip.MustParseAddr("172.17.0.2")); got != "02:42:ac:11:00:02" {
		t.Errorf("macFor(172.17.0.2) = %s, want docker's 02:42:ac:11:00:02", got)
	}
	m, err := Open(Options{DataRoot: t.TempDir(), ExecRoot: t.TempDir(), NetNSDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.Create(CreateOptions{Name: "n", Subnet: "10.77.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	a := &Attachment{ContainerID: strings.Repeat("ab", 32), ContainerName: "c",
		Netavark: navOptions{Networks: map[string]navPerNetwork{}, NetworkInfo: map[string]navNetwork{}}}
	m.mu.Lock()
	err = m.addEndpointLocked(a, n, EndpointConfig{}, "eth0", true)
	m.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Netavark.Networks["n"]; got.StaticMAC != "02:42:0a:4d:00:02" || got.StaticIPs[0] != "10.77.0.2" {
		t.Errorf("netavark's options for the endpoint: %+v", got)
	}
}
