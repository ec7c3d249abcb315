package lifecycle

import (
	"errors"
	"strings"
	"testing"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/monitor/contract"
	"github.com/containerd/errdefs"
)

func TestParseRestartPolicy(t *testing.T) {
	for in, want := range map[string]RestartPolicy{
		"no":             {Name: "no"},
		"always":         {Name: "always"},
		"unless-stopped": {Name: "unless-stopped"},
		"on-failure":     {Name: "on-failure"},
		"on-failure:3":   {Name: "on-failure", MaximumRetryCount: 3},
		"on-failure:0":   {Name: "on-failure"},
	} {
		got, err := ParseRestartPolicy(in)
		if err != nil || got != want {
			t.Errorf("ParseRestartPolicy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"sometimes":     "unknown",
		"on-failure:-1": "cannot be negative",
		"on-failure:x":  "must be an integer",
		"always:3":      "can only be used with \"on-failure\"",
		"no:1":          "can only be used with \"on-failure\"",
	} {
		_, err := ParseRestartPolicy(in)
		if err == nil || !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseRestartPolicy(%q) = %v, want an invalid argument saying %q", in, err, msg)
		}
	}
}

func TestCheckRestartWithAutoRemove(t *testing.T) {
	s := &Spec{AutoRemove: true, RestartPolicy: RestartPolicy{Name: "always"}}
	if err := checkRestart(s); err == nil || !strings.Contains(err.Error(), "--rm") {
		t.Fatalf("always with --rm: %v", err)
	}
	s.RestartPolicy.Name = "no"
	if err := checkRestart(s); err != nil {
		t.Fatalf("no with --rm: %v", err)
	}
}

// TestApplyRestart: restart notices make the run restarting and running
// again with the monitor's count; a stale or foreign one changes nothing,
// and restart.json gives the same to a berthd that missed them.
func TestApplyRestart(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c, err := e.m.Create(t.Context(), e.snap, "", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}, RestartPolicy: RestartPolicy{Name: "always"}})
	if err != nil {
		t.Fatal(err)
	}
	started, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := started.Run.ID
	state := func() (State, int, int, int) {
		t.Helper()
		i, err := e.m.Get(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return i.State, i.RestartCount, i.ExitCode, i.Pid
	}
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: run, Notice: contract.NoticeRestarting, ExitCode: 137}, false)
	if s, n, code, pid := state(); s != Restarting || n != 0 || code != 137 || pid != 0 {
		t.Fatalf("after restarting: %s count %d code %d pid %d", s, n, code, pid)
	}
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: run, Notice: contract.NoticeRestarted, RestartCount: 1, Pid: 4242, ExitCode: 137}, false)
	if s, n, _, pid := state(); s != Running || n != 1 || pid != 4242 {
		t.Fatalf("after restarted: %s count %d pid %d", s, n, pid)
	}
	// Another run's notice, and an older one, change nothing.
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: "other", Notice: contract.NoticeRestarting, RestartCount: 5}, false)
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: run, Notice: contract.NoticeRestarting, RestartCount: 0}, false)
	if s, n, _, _ := state(); s != Running || n != 1 {
		t.Fatalf("after stale notices: %s count %d", s, n)
	}
	// restart.json, as the monitor writes it while berthd is gone.
	if err := atomicfile.WriteJSON(contract.RestartPath(e.m.containerDir(c.ID)), contract.Restart{Version: contract.FormatVersion, ID: c.ID, Run: run, RestartCount: 3, Pid: 77, ExitCode: 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	e.m.readRestart(c.ID, *started.Run, true)
	if s, n, _, pid := state(); s != Running || n != 3 || pid != 77 {
		t.Fatalf("from restart.json: %s count %d pid %d", s, n, pid)
	}
	// A restart.json read before the notice of the next exit, applied
	// after it, does not undo it.
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: run, Notice: contract.NoticeRestarting, RestartCount: 3, ExitCode: 9}, false)
	e.m.applyRestart(c.ID, contract.Exit{ID: c.ID, Run: run, Notice: contract.NoticeRestarted, RestartCount: 3, Pid: 77}, false)
	if s, n, code, _ := state(); s != Restarting || n != 3 || code != 9 {
		t.Fatalf("after a stale restarted state: %s count %d code %d", s, n, code)
	}
	// The final exit keeps the count; a start by the user resets it.
	e.m.recordExit(c.ID, contract.Exit{ID: c.ID, Run: run, ExitCode: 1, RestartCount: 3})
	e.units.set(started.Run.Unit, "inactive")
	if s, n, code, _ := state(); s != Exited || n != 3 || code != 1 {
		t.Fatalf("after the exit: %s count %d code %d", s, n, code)
	}
	again, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.RestartCount != 0 {
		t.Fatalf("count %d after a new start", again.RestartCount)
	}
	e.m.Stop(t.Context(), c.ID, nil)
}
