package lifecycle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
)

func TestManagerRename(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	a := e.create(t, "alpha")
	e.create(t, "beta")
	for _, tc := range []struct {
		ref, name string
		want      error
	}{
		{"alpha", "beta", errs.NameInUse},
		{"alpha", "bad/name", errdefs.ErrInvalidArgument},
		{"alpha", "", errdefs.ErrInvalidArgument},
		{"alpha", "alpha", errdefs.ErrInvalidArgument},
		{"nosuch", "gamma", errs.NoSuchContainer},
	} {
		if _, err := e.m.Rename(t.Context(), tc.ref, tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Rename(%q, %q): %v, want %v", tc.ref, tc.name, err, tc.want)
		}
	}
	info, err := e.m.Rename(t.Context(), "alpha", "gamma")
	if err != nil || info.Name != "gamma" || info.ID != a.ID {
		t.Fatalf("Rename: %+v, %v", info.Name, err)
	}
	if _, err := e.m.Get("alpha"); !errors.Is(err, errs.NoSuchContainer) {
		t.Errorf("old name still resolves: %v", err)
	}
	if got, err := e.m.Get("gamma"); err != nil || got.ID != a.ID {
		t.Errorf("Get(gamma): %v", err)
	}
	// The old name is free again.
	e.create(t, "alpha")
	var rec Record
	b, err := os.ReadFile(filepath.Join(e.data, "containers", a.ID, "container.json"))
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.Name != "gamma" {
		t.Errorf("record name %q (%v)", rec.Name, err)
	}
}
