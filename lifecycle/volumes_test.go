package lifecycle

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func withVolumes(t *testing.T, e *testEnv) *volumes.Store {
	t.Helper()
	s, err := volumes.Open(e.data, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.m.volumes = s
	return s
}

func volumeNames(t *testing.T, s *volumes.Store) []string {
	t.Helper()
	l, err := s.List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range l {
		out = append(out, v.Name)
	}
	return out
}

// TestManagerVolumes: create acquires (and fills) volumes, a refused
// create leaves none, the run's spec mounts them and the container's own
// /etc files, remove with Volumes takes the anonymous ones, and a new
// manager counts the users again from the records.
func TestManagerVolumes(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	store := withVolumes(t, e)
	os.MkdirAll(filepath.Join(e.rootfs, "d"), 0o755)
	os.WriteFile(filepath.Join(e.rootfs, "d", "content"), []byte("image"), 0o600)
	os.MkdirAll(filepath.Join(e.rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(e.rootfs, "etc", "hostname"), nil, 0o644)
	host := t.TempDir()

	// Refused: nothing made, not even the named volume that came first.
	_, err := e.m.Create(t.Context(), e.snap, "bad", Spec{Rootfs: e.rootfs, Cmd: []string{"true"},
		Binds: []string{"fresh:/f"}, Mounts: []Mount{{Type: MountBind, Source: filepath.Join(host, "missing"), Target: "/m"}}})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("create with a missing bind source: %v", err)
	}
	if got := volumeNames(t, store); len(got) != 0 {
		t.Fatalf("a refused create made volumes %v", got)
	}

	info, err := e.m.Create(t.Context(), e.snap, "vols", Spec{Rootfs: e.rootfs, Cmd: []string{"true"},
		Binds: []string{"data:/d", "/scratch", filepath.Join(host, "new") + ":/h:ro"}, Tmpfs: map[string]string{"/run": "size=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	names := volumeNames(t, store)
	if len(names) != 2 || !slices.Contains(names, "data") {
		t.Fatalf("volumes %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(e.data, "volumes", "data", "_data", "content")); string(b) != "image" {
		t.Fatalf("copy-up: %q", b)
	}
	if u := store.Users("data"); !slices.Equal(u, []string{info.ID}) {
		t.Fatalf("users %v", u)
	}
	if _, err := os.Stat(filepath.Join(host, "new")); err == nil {
		t.Fatal("the -v host directory was made at create, want at start")
	}

	if _, err := e.m.Start(t.Context(), e.snap, info.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(host, "new")); err != nil || !st.IsDir() {
		t.Fatalf("-v host directory after start: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(e.exec, "containers", info.ID, "bundle", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	got := map[string]specs.Mount{}
	for _, m := range spec.Mounts {
		got[m.Destination] = m
	}
	if m := got["/d"]; m.Source != filepath.Join(e.data, "volumes", "data", "_data") || !slices.Contains(m.Options, "rw") {
		t.Fatalf("volume mount %+v", m)
	}
	if m := got["/h"]; m.Source != filepath.Join(host, "new") || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rprivate") {
		t.Fatalf("bind mount %+v", m)
	}
	if m := got["/run"]; m.Type != "tmpfs" || !slices.Contains(m.Options, "size=1048576") {
		t.Fatalf("tmpfs %+v", m)
	}
	if m := got["/etc/hostname"]; m.Source != filepath.Join(e.data, "containers", info.ID, "hostname") {
		t.Fatalf("/etc/hostname %+v", m)
	}
	if _, ok := got["/etc/hosts"]; ok {
		t.Fatal("/etc/hosts mounted into a root directory of the user's that lacks it")
	}

	if _, err := e.m.Stop(t.Context(), info.ID, ptr(0)); err != nil {
		t.Fatal(err)
	}
	// A restarted berthd counts the users again.
	store2, _ := volumes.Open(e.data, e.m.log)
	m2 := New(Options{DataRoot: e.data, ExecRoot: e.exec, MonitorPath: e.m.monitorPath, Units: e.units, Log: e.m.log, Volumes: store2})
	if _, err := m2.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m2.Close)
	if u := store2.Users("data"); !slices.Equal(u, []string{info.ID}) {
		t.Fatalf("users after a restart %v", u)
	}
	if err := m2.RemoveWith(t.Context(), info.ID, RemoveOptions{Volumes: true}); err != nil {
		t.Fatal(err)
	}
	if got := volumeNames(t, store2); !slices.Equal(got, []string{"data"}) {
		t.Fatalf("after rm -v: %v, want the named volume only", got)
	}
	if u := store2.Users("data"); len(u) != 0 {
		t.Fatalf("users after rm %v", u)
	}
}
