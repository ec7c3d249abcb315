package engineapi

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
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
