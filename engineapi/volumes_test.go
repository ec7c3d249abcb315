package engineapi

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// docker-py sends each volume's destination in Config.Volumes as well as
// the volume in Binds: the bind wins, no anonymous volume is added.
func TestConfigVolumesUnderBinds(t *testing.T) {
	req := container.CreateRequest{
		Config: &container.Config{Image: "busybox", Volumes: map[string]struct{}{"/v": {}, "/m/": {}, "/t": {}, "/anon": {}, "/x": {}}},
		HostConfig: &container.HostConfig{
			Binds:  []string{"pyvol:/v:rw", "/x"},
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "mv", Target: "/m"}},
			Tmpfs:  map[string]string{"/t": ""},
		},
	}
	s, err := specFromCreate(req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Binds, []string{"/anon", "pyvol:/v:rw", "/x"}) {
		t.Errorf("binds %q", s.Binds)
	}
}

func TestNetworkFromCreate(t *testing.T) {
	ep := func(e network.EndpointSettings) *network.NetworkingConfig {
		return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"default": &e}}
	}
	for _, tc := range []struct {
		name string
		mode container.NetworkMode
		nc   *network.NetworkingConfig
		want string
		err  string
	}{
		{"default", "default", ep(network.EndpointSettings{}), "", ""},
		{"empty", "", nil, "", ""},
		{"bridge", "bridge", &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"bridge": nil}}, "", ""},
		{"host", "host", &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"host": {}}}, "host", ""},
		{"none", "none", &network.NetworkingConfig{}, "none", ""},
		{"unknown", "mynet", nil, "", "network mynet not found"},
		{"container", "container:abc", nil, "", "sharing another container's network"},
		{"aliases", "default", ep(network.EndpointSettings{Aliases: []string{"db"}}), "", "endpoint settings"},
		{"ip", "default", ep(network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{}, Links: []string{"a:b"}}), "", "endpoint settings"},
		{"mac", "default", ep(network.EndpointSettings{MacAddress: network.HardwareAddr{2, 0, 0, 0, 0, 1}}), "", "endpoint settings"},
		{"other network", "host", ep(network.EndpointSettings{}), "", `network "default": a container joins one network`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := networkFromCreate(tc.mode, tc.nc)
			if tc.err != "" {
				if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an invalid argument naming %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestCoreFilters(t *testing.T) {
	r := httptest.NewRequest("GET", `/volumes?filters={"label":{"a=b":true,"c":true},"dangling":["true"]}`, nil)
	f, err := parseFilters(r, "label", "dangling")
	if err != nil {
		t.Fatal(err)
	}
	if got := coreFilters(f); !slices.Equal(got, []string{"dangling=true", "label=a=b", "label=c"}) {
		t.Errorf("got %q", got)
	}
}
