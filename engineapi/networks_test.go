package engineapi

import (
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	berthnet "github.com/berthd/berth/network"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func TestNetworkFromCreate(t *testing.T) {
	nc := func(m map[string]*network.EndpointSettings) *network.NetworkingConfig {
		return &network.NetworkingConfig{EndpointsConfig: m}
	}
	ip := netip.MustParseAddr("10.9.0.7")
	for _, tc := range []struct {
		name     string
		mode     container.NetworkMode
		nc       *network.NetworkingConfig
		wantMode string
		wantEps  map[string]berthnet.EndpointConfig
		err      string
	}{
		{"cli default", "default", nc(map[string]*network.EndpointSettings{"default": {}}), "", map[string]berthnet.EndpointConfig{"": {}}, ""},
		{"empty", "", nil, "", nil, ""},
		{"bridge null", "bridge", nc(map[string]*network.EndpointSettings{"bridge": nil}), "bridge", map[string]berthnet.EndpointConfig{"": {}}, ""},
		{"bridge under the default mode", "", nc(map[string]*network.EndpointSettings{"bridge": {}}), "bridge", map[string]berthnet.EndpointConfig{"": {}}, ""},
		{"user networks without a mode", "", nc(map[string]*network.EndpointSettings{"b": {Aliases: []string{"x"}}, "a": nil}), "a",
			map[string]berthnet.EndpointConfig{"": {}, "b": {Aliases: []string{"x"}}}, ""},
		{"ip of the cli default", "default", nc(map[string]*network.EndpointSettings{"default": {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}}}), "",
			map[string]berthnet.EndpointConfig{"": {IPv4Address: "10.9.0.7"}}, ""},
		{"host", "host", nc(map[string]*network.EndpointSettings{"host": {}}), "host", map[string]berthnet.EndpointConfig{"": {}}, ""},
		{"none", "none", nc(nil), "none", nil, ""},
		{"container", "container:abc", nil, "container:abc", nil, ""},
		{"user network with alias and address", "mynet", nc(map[string]*network.EndpointSettings{
			"mynet": {Aliases: []string{"web"}, IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}, NetworkID: "abc"},
			"other": nil,
		}), "mynet", map[string]berthnet.EndpointConfig{"": {Aliases: []string{"web"}, IPv4Address: "10.9.0.7"}, "other": {}}, ""},
		{"links", "mynet", nc(map[string]*network.EndpointSettings{"mynet": {Links: []string{"a:b"}}}), "", nil, `EndpointsConfig["mynet"].Links`},
		{"mac", "default", nc(map[string]*network.EndpointSettings{"default": {MacAddress: network.HardwareAddr{2, 0, 0, 0, 0, 1}}}), "", nil, ".MacAddress"},
		{"ipv6", "mynet", nc(map[string]*network.EndpointSettings{"mynet": {IPAMConfig: &network.EndpointIPAMConfig{IPv6Address: netip.MustParseAddr("fd00::1")}}}), "", nil, "IPAMConfig.IPv6Address"},
		{"driver options", "mynet", nc(map[string]*network.EndpointSettings{"mynet": {DriverOpts: map[string]string{"a": "b"}}}), "", nil, "DriverOpts"},
		{"twice", "", nc(map[string]*network.EndpointSettings{"": {}, "default": {}}), "", nil, "named twice"},
		{"default beside a mode", "mynet", nc(map[string]*network.EndpointSettings{"mynet": {}, "default": {}}), "mynet",
			map[string]berthnet.EndpointConfig{"": {}, "default": {}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode, eps, err := networkFromCreate(tc.mode, tc.nc)
			if tc.err != "" {
				if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an invalid argument naming %q", err, tc.err)
				}
				return
			}
			if err != nil || mode != tc.wantMode || !reflect.DeepEqual(eps, tc.wantEps) {
				t.Fatalf("got %q %+v %v, want %q %+v", mode, eps, err, tc.wantMode, tc.wantEps)
			}
		})
	}
}

func TestSpecFromCreatePorts(t *testing.T) {
	req := container.CreateRequest{
		Config: &container.Config{Image: "busybox", ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("53/udp"): {}}},
		HostConfig: &container.HostConfig{PublishAllPorts: true, PortBindings: network.PortMap{
			network.MustParsePort("80/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}, {HostPort: ""}},
		}},
	}
	s, err := specFromCreate(req)
	if err != nil {
		t.Fatal(err)
	}
	want := berthnet.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}, {}}}
	if !reflect.DeepEqual(s.PortBindings, want) || !s.PublishAllPorts || !reflect.DeepEqual(s.ExposedPorts, []string{"53/udp", "80/tcp"}) {
		t.Errorf("ports: %+v all %v exposed %q", s.PortBindings, s.PublishAllPorts, s.ExposedPorts)
	}
}

func TestNetworkCreateOptions(t *testing.T) {
	yes, no := true, false
	var req networkCreateRequest
	req.Name, req.Driver, req.Internal, req.EnableIPv4, req.EnableIPv6 = "n", "bridge", true, &yes, &no
	o, err := req.createOptions()
	if err != nil || o.Name != "n" || !o.Internal || o.Driver != "bridge" {
		t.Fatalf("got %+v %v", o, err)
	}
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{"Name":"n","EnableIPv6":true}`, "EnableIPv6"},
		{`{"Name":"n","EnableIPv4":false}`, "EnableIPv4 false"},
		{`{"Name":"n","Attachable":true,"Ingress":true}`, "Ingress"},
		{`{"Name":"n","Scope":"swarm"}`, `Scope "swarm"`},
		{`{"Name":"n","IPAM":{"Driver":"dhcp"}}`, `IPAM.Driver "dhcp"`},
		{`{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24"},{"Subnet":"10.2.0.0/24"}]}}`, "more than one IPAM.Config"},
		{`{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","AuxiliaryAddresses":{"a":"10.1.0.9"}}]}}`, "AuxiliaryAddresses"},
	} {
		var r networkCreateRequest
		if err := jsonStrict(tc.body, &r); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if _, err := r.createOptions(); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a refusal naming %q", tc.body, err, tc.want)
		}
	}
	var r networkCreateRequest
	if err := jsonStrict(`{"Name":"n","CheckDuplicate":true,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.254","IPRange":""}]}}`, &r); err != nil {
		t.Fatal(err)
	}
	if o, err := r.createOptions(); err != nil || o.Subnet != "10.1.0.0/24" || o.Gateway != "10.1.0.254" {
		t.Errorf("got %+v %v", o, err)
	}
}

// jsonStrict decodes body as a request's, strictly.
func jsonStrict(body string, v any) error {
	return decodeBody(httptest.NewRequest("POST", "/", strings.NewReader(body)), v, false)
}
