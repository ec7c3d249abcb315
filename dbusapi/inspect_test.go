package dbusapi

import (
	"encoding/json"
	"testing"

	"github.com/berthd/berth/lifecycle"
	"github.com/opencontainers/go-digest"
	ocispecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestInspectDockerShape: the fields docker templates read are where
// docker has them, with docker's values.
func TestInspectDockerShape(t *testing.T) {
	timeout := 7
	i := lifecycle.Info{Record: lifecycle.Record{ID: "abc", Name: "web", Spec: lifecycle.Spec{
		Image: "busybox", ImageID: "sha256:1111", Cmd: []string{"sh"}, Env: []string{"A=1"},
		StopSignal: "SIGUSR1", StopTimeout: &timeout,
	}}}
	var v struct {
		Name, Image string
		Config      struct {
			Image, StopSignal string
			Cmd, Env          []string
			StopTimeout       int
		}
	}
	b, _ := json.Marshal(inspectView(i))
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "/web" || v.Image != "sha256:1111" || v.Config.Image != "busybox" || v.Config.StopSignal != "SIGUSR1" ||
		len(v.Config.Cmd) != 1 || len(v.Config.Env) != 1 || v.Config.StopTimeout != 7 {
		t.Fatalf("inspect: %s", b)
	}
	rootfs := ocispecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{"sha256:aa", "sha256:bb"}}
	var r struct {
		Type   string
		Layers []string
	}
	b, _ = json.Marshal(rootFSView(rootfs))
	if err := json.Unmarshal(b, &r); err != nil || r.Type != "layers" || len(r.Layers) != 2 || r.Layers[1] != "sha256:bb" {
		t.Fatalf("RootFS: %s (%v)", b, err)
	}
}
