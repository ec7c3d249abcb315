package dbusapi

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestRootFSView: an image's RootFS in docker's inspect shape.
func TestRootFSView(t *testing.T) {
	rootfs := ocispecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{"sha256:aa", "sha256:bb"}}
	var r struct {
		Type   string
		Layers []string
	}
	b, _ := json.Marshal(rootFSView(rootfs))
	if err := json.Unmarshal(b, &r); err != nil || r.Type != "layers" || len(r.Layers) != 2 || r.Layers[1] != "sha256:bb" {
		t.Fatalf("RootFS: %s (%v)", b, err)
	}
}
