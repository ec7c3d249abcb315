package lifecycle

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

func u64(v uint64) *uint64 { return &v }

// TestManagerUpdate: limits are recorded for a stopped container without
// a scope call; a bad value or a refusal of systemd records nothing; nil
// leaves a limit, 0 removes it.
func TestManagerUpdate(t *testing.T) {
	units := newFakeScopes()
	e := newTestManager(t, units)
	c := e.create(t, "u")
	info, err := e.m.Update(t.Context(), "u", Resources{Memory: u64(64 << 20), PidsLimit: u64(50), CPUShares: u64(512)})
	if err != nil {
		t.Fatal(err)
	}
	if info.Spec.Memory != 64<<20 || info.Spec.PidsLimit != 50 || info.Spec.CPUShares != 512 {
		t.Fatalf("after update: %+v", info.Spec)
	}
	if len(units.limits) != 0 {
		t.Errorf("a container without a scope got a scope call: %v", units.limits)
	}
	if _, err := e.m.Update(t.Context(), "u", Resources{Memory: u64(1)}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("memory of 1 byte: %v, want invalid argument", err)
	}
	if _, err := e.m.Update(t.Context(), "u", Resources{NanoCPUs: u64(5)}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("0.000000005 CPUs: %v, want invalid argument", err)
	}
	info, err = e.m.Update(t.Context(), "u", Resources{Memory: u64(0)})
	if err != nil || info.Spec.Memory != 0 || info.Spec.PidsLimit != 50 {
		t.Fatalf("removing the memory limit: %+v %v", info.Spec, err)
	}
	// A reloaded manager reads what was recorded.
	m2 := e.reload(t)
	got, err := m2.Get(c.ID)
	if err != nil || got.Spec.PidsLimit != 50 || got.Spec.CPUShares != 512 {
		t.Fatalf("after reload: %+v %v", got.Spec, err)
	}
	if _, err := e.m.Update(t.Context(), "nosuch", Resources{}); err == nil {
		t.Error("update of a missing container succeeded")
	}
}

// TestManagerUpdateRunning: a running container's scope gets the limits
// at once; when systemd refuses them nothing is recorded.
func TestManagerUpdateRunning(t *testing.T) {
	units := newFakeScopes()
	e := newTestManager(t, units)
	c := e.create(t, "r")
	if _, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := e.m.Update(t.Context(), "r", Resources{Memory: u64(64 << 20), NanoCPUs: u64(5e8)})
	if err != nil {
		t.Fatal(err)
	}
	l := units.limits[info.Unit()]
	if l.MemoryMax != 64<<20 || l.CPUQuotaPerSec.Milliseconds() != 500 {
		t.Fatalf("scope limits: %+v", l)
	}
	units.mu.Lock()
	units.refuse = errors.New("refused")
	units.mu.Unlock()
	if _, err := e.m.Update(t.Context(), "r", Resources{Memory: u64(128 << 20)}); err == nil {
		t.Fatal("a refusal of systemd was not reported")
	}
	if got, _ := e.m.Get("r"); got.Spec.Memory != 64<<20 {
		t.Fatalf("a refused update was recorded: %d", got.Spec.Memory)
	}
}
