package dockerview

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/lifecycle"
	berthnet "github.com/berthd/berth/network"
)

// TestNetworkDockerShape: docker's network inspect fields, with the
// attached containers by id, and {} / [] where nothing is set.
func TestNetworkDockerShape(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := &berthnet.Network{
		ID: strings.Repeat("a", 64), Name: "web", Driver: berthnet.DriverBridge, Interface: "br-aaaaaaaaaaaa",
		Subnets:  []berthnet.Subnet{{Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.1")}},
		Internal: true, DNSEnabled: true, Labels: map[string]string{"a": "b"}, Created: created,
	}
	users := map[string]berthnet.Endpoint{"c1": {
		ID: strings.Repeat("e", 64), NetworkID: n.ID, NetworkName: "web", Interface: "eth0",
		Address: netip.MustParsePrefix("10.9.0.2/24"), Gateway: netip.MustParseAddr("10.9.0.1"), MacAddress: "aa:bb:cc:dd:ee:ff",
	}}
	b, err := json.Marshal(Network(n, users, func(id string) string { return "name-of-" + id }))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"Name":"web"`, `"Id":"` + n.ID + `"`, `"Created":"2026-01-02T03:04:05Z"`, `"Scope":"local"`, `"Driver":"bridge"`,
		`"EnableIPv4":true`, `"Internal":true`, `"Labels":{"a":"b"}`, `"Options":{}`,
		`"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.9.0.0/24","Gateway":"10.9.0.1"}]}`,
		`"Containers":{"c1":{"Name":"name-of-c1","EndpointID":"` + users["c1"].ID + `","MacAddress":"aa:bb:cc:dd:ee:ff","IPv4Address":"10.9.0.2/24","IPv6Address":""}}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("inspect lacks %s: %s", want, b)
		}
	}

	t.Run("default bridge", func(t *testing.T) {
		n := &berthnet.Network{ID: "b", Name: berthnet.Bridge, Driver: berthnet.DriverBridge, Interface: berthnet.DefaultInterface}
		v := Network(n, nil, nil)
		if v.Options["com.docker.network.bridge.name"] != "berth0" || v.Options["com.docker.network.bridge.default_bridge"] != "true" {
			t.Errorf("options: %v", v.Options)
		}
	})
	t.Run("host lists the containers in host mode", func(t *testing.T) {
		n := &berthnet.Network{ID: "h", Name: berthnet.Host, Driver: berthnet.DriverHost}
		running := lifecycle.Info{Record: lifecycle.Record{ID: "r1", Name: "onhost", State: lifecycle.Running, Spec: lifecycle.Spec{Network: "host"}}}
		stopped := lifecycle.Info{Record: lifecycle.Record{ID: "s1", Name: "was", State: lifecycle.Exited, Spec: lifecycle.Spec{Network: "host"}}}
		bridged := lifecycle.Info{Record: lifecycle.Record{ID: "b1", Name: "web", State: lifecycle.Running, Spec: lifecycle.Spec{Network: "bridge"}}}
		v := NetworkOf(n, nil, []lifecycle.Info{running, stopped, bridged})
		if len(v.Containers) != 1 || v.Containers["r1"].Name != "onhost" {
			t.Errorf("containers: %v", v.Containers)
		}
		w := NetworkOf(&berthnet.Network{ID: "x", Name: "app", Driver: berthnet.DriverBridge}, map[string]berthnet.Endpoint{"b1": {}}, []lifecycle.Info{bridged})
		if len(w.Containers) != 1 || w.Containers["b1"].Name != "web" {
			t.Errorf("bridge network's containers: %v", w.Containers)
		}
	})
	t.Run("none", func(t *testing.T) {
		n := &berthnet.Network{ID: "n", Name: berthnet.None, Driver: berthnet.DriverNull}
		b, _ := json.Marshal(Network(n, nil, nil))
		for _, want := range []string{`"EnableIPv4":false`, `"Config":[]`, `"Labels":{}`, `"Options":{}`, `"Containers":{}`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("inspect lacks %s: %s", want, b)
			}
		}
	})
}
