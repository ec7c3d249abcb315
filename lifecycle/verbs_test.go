package lifecycle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestParsePruneFilters(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in    string
		until time.Time
		bad   bool
	}{
		{in: "until=1h", until: now.Add(-time.Hour)},
		{in: "until=2025-12-31", until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)},
		{in: "until=2025-12-31T10:00:00Z", until: time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC)},
		{in: "until=1700000000", until: time.Unix(1700000000, 0)},
		{in: "until=soon", bad: true},
		{in: "until=", bad: true},
		{in: "status=exited", bad: true},
		{in: "label", bad: true},
	} {
		f, err := ParsePruneFilters([]string{tc.in}, now)
		if tc.bad {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%s: %v, want invalid argument", tc.in, err)
			}
			continue
		}
		if err != nil || !f.Until.Equal(tc.until) {
			t.Errorf("%s: until %v (%v), want %v", tc.in, f.Until, err, tc.until)
		}
	}
	f, err := ParsePruneFilters([]string{"label=a", "label=b=1", "label!=keep"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"a": "", "b": "1"}, true},
		{map[string]string{"a": "x", "b": "2"}, false},
		{map[string]string{"b": "1"}, false},
		{map[string]string{"a": "", "b": "1", "keep": "y"}, false},
	} {
		if got := f.Match(now, tc.labels); got != tc.want {
			t.Errorf("Match(%v) = %v", tc.labels, got)
		}
	}
	old, _ := ParsePruneFilters([]string{"until=1h"}, now)
	if old.Match(now, nil) || !old.Match(now.Add(-2*time.Hour), nil) {
		t.Error("until: a container newer than the limit matched or an older one did not")
	}
}

func TestManagerPrune(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	stopped := e.create(t, "stopped")
	run := e.create(t, "web")
	if _, err := e.m.Start(t.Context(), e.snap, run.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	keep, err := e.m.Create(t.Context(), e.snap, "keep", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}, Labels: map[string]string{"keep": ""}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ParsePruneFilters([]string{"label!=keep"}, time.Now())
	ids, bytes, err := e.m.Prune(t.Context(), f)
	if err != nil || len(ids) != 1 || ids[0] != stopped.ID || bytes == 0 {
		t.Fatalf("Prune: %v %d %v, want [%s] and its record's bytes", ids, bytes, err, stopped.ID)
	}
	for ref, want := range map[string]bool{"stopped": false, "web": true, keep.ID: true} {
		if _, err := e.m.Get(ref); (err == nil) != want {
			t.Errorf("%s after prune: %v", ref, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.data, "containers", stopped.ID)); !os.IsNotExist(err) {
		t.Errorf("pruned container's directory: %v", err)
	}
	e.m.Stop(t.Context(), "web", nil)
}

func TestParsePs(t *testing.T) {
	out := []byte(`UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 13:00 ?        00:00:01 /sbin/init
root         812       1  0 13:01 ?        00:00:00 sleep 300 --long arg
root         813     812  0 13:01 pts/0    00:00:00 sh -c  x
`)
	titles, procs, err := parsePs(out, map[int]bool{812: true, 813: true, 999: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(titles, ",") != "UID,PID,PPID,C,STIME,TTY,TIME,CMD" || len(procs) != 2 {
		t.Fatalf("titles %v procs %v", titles, procs)
	}
	if got := strings.Join(procs[0], "|"); got != "root|812|1|0|13:01|?|00:00:00|sleep 300 --long arg" {
		t.Errorf("row %q", got)
	}
	if procs[1][7] != "sh -c x" || procs[1][5] != "pts/0" {
		t.Errorf("row %q", procs[1])
	}
	if _, _, err := parsePs([]byte("USER COMMAND\nroot x\n"), nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("no PID column: %v", err)
	}
}

func TestCgroupPids(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755)
	os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("10\n11\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "cgroup.procs"), []byte(""), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "deeper", "cgroup.procs"), []byte("12\n"), 0o644)
	pids, err := cgroupPids(dir)
	if err != nil || len(pids) != 3 || !pids[10] || !pids[11] || !pids[12] {
		t.Errorf("pids %v, %v", pids, err)
	}
	if _, err := cgroupPids(filepath.Join(dir, "gone")); err == nil {
		t.Error("a missing cgroup gave no error")
	}
}
