package network

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

// TestNavInfoIsolates: every network netavark sets up is isolated from
// the others (docker's rule), the default bridge included.
func TestNavInfoIsolates(t *testing.T) {
	for _, n := range []*Network{
		{Name: Bridge, ID: "b", Interface: DefaultInterface},
		{Name: "app", ID: "a", Interface: "br-a", DNSEnabled: true, Internal: true},
	} {
		n.Subnets = []Subnet{{Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1")}}
		b, err := json.Marshal(navInfo(n))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"options":{"isolate":"true"}`) {
			t.Errorf("%s: %s", n.Name, b)
		}
	}
}
