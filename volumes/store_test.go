package volumes

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
)

func open(t *testing.T, root string) *Store {
	t.Helper()
	s, err := Open(root, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(t *testing.T, s *Store, filters ...string) []string {
	t.Helper()
	l, err := s.List(filters)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l {
		out = append(out, e.Name)
	}
	return out
}

func TestCreateIsAtomicAndSurvivesReopen(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	v, created, err := s.Create(CreateOptions{Name: "data", Labels: map[string]string{"a": "b"}})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if v.Mountpoint != filepath.Join(root, "volumes", "data", "_data") {
		t.Fatalf("mountpoint %s", v.Mountpoint)
	}
	if _, created, _ := s.Create(CreateOptions{Name: "data"}); created {
		t.Fatal("a second create made a new volume")
	}
	st, err := os.Stat(filepath.Join(root, "volumes"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("volumes dir: %v %v", st.Mode(), err)
	}
	// What a crash leaves in staging or trash goes at the next open.
	os.MkdirAll(filepath.Join(root, "volumes", ".staging-1", "_data"), 0o755)
	os.MkdirAll(filepath.Join(root, "volumes", ".trash-1", "_data"), 0o755)
	s2 := open(t, root)
	if got := names(t, s2); !slices.Equal(got, []string{"data"}) {
		t.Fatalf("after reopen: %v", got)
	}
	if v2, _ := s2.Get("data"); v2.Labels["a"] != "b" || v2.Version != Version {
		t.Fatalf("record: %+v", v2)
	}
	if _, err := os.Stat(filepath.Join(root, "volumes", ".staging-1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("staging left")
	}
}

func TestNames(t *testing.T) {
	s := open(t, t.TempDir())
	for _, bad := range []string{"x", "../x", "a/b", ".hidden", "-x", strings.Repeat("a", 256)} {
		if _, _, err := s.Create(CreateOptions{Name: bad}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v, want invalid argument", bad, err)
		}
	}
	if got := names(t, s); len(got) != 0 {
		t.Fatalf("bad names made %v", got)
	}
}

func TestCreateOptions(t *testing.T) {
	s := open(t, t.TempDir())
	for name, o := range map[string]CreateOptions{
		"driver":      {Name: "v1", Driver: "nfs"},
		"driver opts": {Name: "v1", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"}},
		"empty label": {Name: "v1", Labels: map[string]string{"": "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.Create(o); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("%+v: %v, want invalid argument", o, err)
			}
		})
	}
	if got := names(t, s); len(got) != 0 {
		t.Fatalf("refused creates made %v", got)
	}
	v, created, err := s.Create(CreateOptions{Driver: Driver})
	if err != nil || !created || len(v.Name) != 64 || v.Anonymous {
		t.Fatalf("create without a name: %+v %v %v", v, created, err)
	}
}

func TestRemoveInUse(t *testing.T) {
	s := open(t, t.TempDir())
	if _, _, err := s.Acquire("data", "c1", nil, false); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Remove(ctx, "data", false, nil); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "in use by container(s) c1") {
		t.Fatalf("remove in use: %v", err)
	}
	running := func(id string) bool { return id == "c1" }
	if err := s.Remove(ctx, "data", true, running); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "running") {
		t.Fatalf("remove -f while running: %v", err)
	}
	if err := s.Remove(ctx, "data", true, func(string) bool { return false }); err != nil {
		t.Fatalf("remove -f of a stopped user's volume: %v", err)
	}
	if err := s.Remove(ctx, "data", false, nil); !errors.Is(err, errs.NoSuchVolume) {
		t.Fatalf("remove of a gone volume: %v", err)
	}
	// Labels go to a volume that Acquire creates, not to an existing one.
	if v, _, _ := s.Acquire("v3", "c3", map[string]string{"k": "v"}, false); v.Labels["k"] != "v" {
		t.Fatalf("labels of a volume made by Acquire: %v", v.Labels)
	}
	if v, _, _ := s.Acquire("v3", "c4", map[string]string{"k": "other"}, false); v.Labels["k"] != "v" {
		t.Fatalf("labels of an existing volume changed by Acquire: %v", v.Labels)
	}
	// Released: removable.
	s.Acquire("v2", "c2", nil, false)
	s.Release("v2", "c2")
	if err := s.Remove(ctx, "v2", false, nil); err != nil {
		t.Fatal(err)
	}
}

func TestPruneAndFilters(t *testing.T) {
	s := open(t, t.TempDir())
	s.Create(CreateOptions{Name: "named", Labels: map[string]string{"team": "a"}})
	s.Create(CreateOptions{Name: "other", Labels: map[string]string{"team": "b"}})
	s.Acquire("anon1", "c1", nil, true)
	s.Acquire("anon2", "c2", nil, true)
	s.Release("anon2", "c2")
	if got := names(t, s, "dangling=true"); !slices.Equal(got, []string{"anon2", "named", "other"}) {
		t.Fatalf("dangling=true: %v", got)
	}
	if got := names(t, s, "label=team=a"); !slices.Equal(got, []string{"named"}) {
		t.Fatalf("label=team=a: %v", got)
	}
	if got := names(t, s, "label=team", "name=o"); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("label=team, name=o: %v", got)
	}
	if _, err := s.List([]string{"colour=red"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("unknown filter: %v", err)
	}
	os.WriteFile(filepath.Join(s.root, "anon2", "_data", "f"), make([]byte, 10000), 0o644)
	p, err := s.Prune(t.Context(), false, nil)
	if err != nil || !slices.Equal(p.Names, []string{"anon2"}) || p.Bytes < 10000 {
		t.Fatalf("prune: %v %v", p, err)
	}
	p, _ = s.Prune(t.Context(), true, []string{"label!=team=a"})
	if !slices.Equal(p.Names, []string{"other"}) {
		t.Fatalf("prune -a label!=team=a: %v", p.Names)
	}
	if got := names(t, s); !slices.Equal(got, []string{"anon1", "named"}) {
		t.Fatalf("left: %v", got)
	}
}

func TestCopyUpKeepsOwnersAndModes(t *testing.T) {
	s := open(t, t.TempDir())
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o750)
	os.WriteFile(filepath.Join(src, "sub", "f"), []byte("x"), 0o640)
	os.Chmod(src, 0o711)
	if os.Getuid() == 0 {
		os.Chown(filepath.Join(src, "sub", "f"), 1000, 100)
	}
	s.Create(CreateOptions{Name: "vv"})
	if ok, err := s.CopyUp("vv", src); !ok || err != nil {
		t.Fatalf("copy up: %v %v", ok, err)
	}
	data := filepath.Join(s.root, "vv", "_data")
	st, err := os.Stat(filepath.Join(data, "sub", "f"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("file: %v %v", st, err)
	}
	if st, _ := os.Stat(data); st.Mode().Perm() != 0o711 {
		t.Fatalf("volume root mode %v, want the image directory's 0711", st.Mode().Perm())
	}
	// Not empty any more: left alone.
	os.WriteFile(filepath.Join(src, "new"), nil, 0o644)
	if ok, _ := s.CopyUp("vv", src); ok {
		t.Fatal("copied into a volume with content")
	}
	// Nothing at the target: nothing to copy.
	s.Create(CreateOptions{Name: "ww"})
	if ok, err := s.CopyUp("ww", filepath.Join(src, "missing")); ok || err != nil {
		t.Fatalf("missing source: %v %v", ok, err)
	}
}

// TestCopyUpInterrupted: a copy-up cut short (berthd killed) leaves only
// its work directory beside _data, which Open removes; the volume is
// still empty and the next copy-up fills it whole.
func TestCopyUpInterrupted(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	s.Create(CreateOptions{Name: "vv"})
	half := filepath.Join(s.root, "vv", copyUpPrefix+"123")
	os.MkdirAll(half, 0o755)
	os.WriteFile(filepath.Join(half, "partial"), nil, 0o644)
	s = open(t, root)
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Fatalf("the interrupted copy is still there: %v", err)
	}
	if ok, err := s.CopyUp("vv", src); !ok || err != nil {
		t.Fatalf("copy up after the interruption: %v %v", ok, err)
	}
	if b, err := os.ReadFile(filepath.Join(s.root, "vv", "_data", "f")); err != nil || string(b) != "x" {
		t.Fatalf("copied file: %q %v", b, err)
	}
}
