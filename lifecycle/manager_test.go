package lifecycle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/config"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// The test binary stands in for berth-monitor and for the OCI runtime when
// it runs under these names (symlinks made by newTestManager).
const (
	fakeMonitorName = "fake-monitor"
	fakeRuntimeName = "fake-runtime"
)

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case fakeMonitorName:
		os.Exit(fakeMonitor(os.Args[1]))
	case fakeRuntimeName:
		os.Exit(fakeRuntime(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeMonitor speaks the monitor's side of the start pipe and of
// monitor.sock. The container's name chooses its behaviour:
//
//	fail-*  answers the go-ahead with an error
//	exit-*  exits with code 3 right after answering
//	else    runs until a stop request, then exits with code 0
func fakeMonitor(cfgPath string) int {
	var cfg contract.Config
	b, err := os.ReadFile(cfgPath)
	if err != nil || json.Unmarshal(b, &cfg) != nil {
		return 1
	}
	start := os.NewFile(3, "start")
	var g contract.Go
	line, err := bufio.NewReader(start).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &g) != nil {
		return 1
	}
	answer := func(s contract.Started) {
		b, _ := json.Marshal(s)
		start.Write(append(b, '\n'))
		start.Close()
	}
	exit := func(code int) int {
		ex := contract.Exit{Version: contract.FormatVersion, ID: cfg.ID, Run: cfg.Run, RunID: cfg.RunID, ExitCode: code, FinishedAt: time.Now().UTC(), BootID: cfg.BootID}
		atomicfile.WriteJSON(contract.ExitPath(cfg.ContainerDir), ex, 0o600)
		if c, err := net.Dial("unixgram", cfg.NotifySocket); err == nil {
			b, _ := json.Marshal(ex)
			c.Write(b)
			c.Close()
		}
		return 0
	}
	switch {
	case strings.HasPrefix(cfg.Name, "fail-"):
		answer(contract.Started{Error: "the runtime refused"})
		return 1
	case strings.HasPrefix(cfg.Name, "exit-"):
		answer(contract.Started{Pid: os.Getpid()})
		return exit(3)
	}
	l, err := net.Listen("unix", contract.SocketPath(cfg.RunDir))
	if err != nil {
		answer(contract.Started{Error: err.Error()})
		return 1
	}
	answer(contract.Started{Pid: os.Getpid()})
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		var req contract.Request
		line, _ := bufio.NewReader(c).ReadBytes('\n')
		json.Unmarshal(line, &req)
		b, _ := json.Marshal(contract.Reply{Pid: os.Getpid(), Run: cfg.Run})
		c.Write(append(b, '\n'))
		c.Close()
		if req.Op == "stop" {
			return exit(0)
		}
	}
}

// fakeRuntime stands in for runc's pause and resume: it succeeds, after
// waiting for <root>/hold to go if that file exists.
func fakeRuntime(args []string) int {
	if len(args) < 2 || args[0] != "--root" {
		return 2
	}
	for {
		if _, err := os.Stat(filepath.Join(args[1], "hold")); err != nil {
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeScopes is systemd for the manager: scopes are names with a state.
// A StartScope waits while hold is set.
type fakeScopes struct {
	mu      sync.Mutex
	states  map[string]string
	limits  map[string]systemd.Limits // SetLimits calls by unit
	refuse  error                     // non-nil: SetLimits fails with it
	hold    chan struct{}             // non-nil: StartScope waits for it to close
	entered chan string               // receives the unit of each StartScope, if set
}

func newFakeScopes() *fakeScopes { return &fakeScopes{states: map[string]string{}} }

func (f *fakeScopes) StartScope(ctx context.Context, s systemd.Scope) error {
	f.mu.Lock()
	hold, entered := f.hold, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- s.Name
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.states[s.Name]; st == "active" {
		return fmt.Errorf("unit %s: still active: %w", s.Name, errdefs.ErrConflict)
	}
	f.states[s.Name] = "active"
	return nil
}

func (f *fakeScopes) ControlGroup(ctx context.Context, name string) (string, error) {
	return "/berth.slice/" + name, nil
}

func (f *fakeScopes) ActiveState(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[name], nil
}

func (f *fakeScopes) WaitGone(ctx context.Context, name string) error { return nil }

func (f *fakeScopes) UnitStates(ctx context.Context, patterns ...string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for name, st := range f.states {
		if st != "" {
			out[name] = st
		}
	}
	return out, nil
}

func (f *fakeScopes) KillUnit(ctx context.Context, name string, signal unix.Signal) error {
	f.set(name, "inactive")
	return nil
}

func (f *fakeScopes) StopUnit(ctx context.Context, name string) error {
	f.set(name, "inactive")
	return nil
}

func (f *fakeScopes) SetLimits(ctx context.Context, name string, l systemd.Limits) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	if f.limits == nil {
		f.limits = map[string]systemd.Limits{}
	}
	f.limits[name] = l
	return nil
}

func (f *fakeScopes) set(name, state string) {
	f.mu.Lock()
	f.states[name] = state
	f.mu.Unlock()
}

type testEnv struct {
	m      *Manager
	stop   context.CancelFunc // ends m's background work
	snap   *config.Snapshot
	units  *fakeScopes
	rootfs string
	data   string
	exec   string
}

// newTestManager returns a loaded manager over temporary roots whose
// monitor and runtime are the test binary.
func newTestManager(t *testing.T, units *fakeScopes) *testEnv {
	t.Helper()
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{fakeMonitorName, fakeRuntimeName} {
		if err := os.Symlink(self, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	// The exec root is short: socket paths under it must fit sun_path.
	short, err := os.MkdirTemp("", "bt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	e := &testEnv{units: units, rootfs: t.TempDir(), data: t.TempDir(), exec: short}
	// The payloads' command exists, so a refused start is the runtime's
	// doing, not a missing command.
	if err := os.MkdirAll(filepath.Join(e.rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.rootfs, "bin", "true"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Parse("test.toml", fmt.Appendf(nil, "data-root = %q\nexec-root = %q\ndefault-runtime = \"fake\"\ndefault-network = \"none\"\n[runtimes.fake]\npath = %q\n",
		e.data, e.exec, filepath.Join(bin, fakeRuntimeName)))
	if err != nil {
		t.Fatal(err)
	}
	e.snap = snap
	e.m = New(Options{DataRoot: e.data, ExecRoot: e.exec, MonitorPath: filepath.Join(bin, fakeMonitorName), Units: units,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(t.Context())
	e.stop = cancel
	if _, err := e.m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.m.Close)
	return e
}

func (e *testEnv) create(t *testing.T, name string) Info {
	t.Helper()
	info, err := e.m.Create(t.Context(), e.snap, name, Spec{Rootfs: e.rootfs, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// waitState waits up to 10 s for the container to reach want.
func (e *testEnv) waitState(t *testing.T, ref string, want State) Info {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := e.m.Get(ref)
		if err == nil && info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s (err %v), want %s", ref, info.State, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestManagerStartStopRemove(t *testing.T) {
	for _, tc := range []struct {
		name     string
		startErr error // class of Start's error
		state    State // after Start (and, for exit-*, its exit)
		exitCode int
		stop     bool
	}{
		{name: "web", state: Running, stop: true},
		{name: "fail-start", startErr: errdefs.ErrInvalidArgument, state: Created},
		// The monitor reports the exit before Start has committed.
		{name: "exit-at-once", state: Exited, exitCode: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestManager(t, newFakeScopes())
			c := e.create(t, tc.name)
			info, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
			if tc.startErr != nil {
				if !errors.Is(err, tc.startErr) {
					t.Fatalf("Start: %v, want %v", err, tc.startErr)
				}
			} else if err != nil {
				t.Fatalf("Start: %v", err)
			} else if info.Run == nil || len(info.Run.ID) != 32 || info.Run.RuntimeName != "fake" {
				t.Fatalf("Start recorded run %+v", info.Run)
			}
			got := e.waitState(t, c.ID, tc.state)
			if got.ExitCode != tc.exitCode {
				t.Fatalf("exit code %d, want %d", got.ExitCode, tc.exitCode)
			}
			if tc.stop {
				if got.Pid == 0 {
					t.Fatalf("running with pid 0")
				}
				stopped, err := e.m.Stop(t.Context(), c.ID, nil)
				if err != nil || stopped.State != Exited || !stopped.Stopped {
					t.Fatalf("Stop: %+v, %v", stopped.Record, err)
				}
			}
			if err := e.m.Remove(t.Context(), c.ID, false); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if _, err := e.m.Get(c.ID); !errors.Is(err, errdefs.ErrNotFound) {
				t.Fatalf("Get after Remove: %v", err)
			}
			if _, err := os.Stat(e.m.containerDir(c.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("container directory after Remove: %v", err)
			}
		})
	}
}

// TestManagerReadersDuringStart: a start held up in systemd does not hold
// up List and Get; a second start and a stop wait for it and then act on
// its outcome.
func TestManagerReadersDuringStart(t *testing.T) {
	units := newFakeScopes()
	units.hold = make(chan struct{})
	units.entered = make(chan string, 1)
	e := newTestManager(t, units)
	c := e.create(t, "held")
	started := make(chan error, 1)
	go func() {
		_, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
		started <- err
	}()
	<-units.entered

	readers := make(chan struct{})
	go func() {
		e.m.List()
		e.m.Get(c.ID)
		close(readers)
	}()
	select {
	case <-readers:
	case <-started:
		t.Fatal("the start returned before the readers")
	case <-time.After(5 * time.Second):
		t.Fatal("List and Get wait for a held-up start")
	}
	if info, _ := e.m.Get(c.ID); info.State != Created {
		t.Fatalf("state during the start: %s", info.State)
	}

	second := make(chan error, 1)
	go func() {
		_, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("a second start did not wait for the first: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(units.hold)
	if err := <-started; err != nil {
		t.Fatalf("Start: %v", err)
	}
	var te *TransitionError
	if err := <-second; !errors.As(err, &te) || te.From != Running {
		t.Fatalf("second Start: %v, want a refusal from running", err)
	}
	if _, err := e.m.Stop(t.Context(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestManagerPauseDoesNotBlockReaders: the runtime's pause runs without the
// container's lock.
func TestManagerPauseDoesNotBlockReaders(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c := e.create(t, "p")
	if _, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	hold := filepath.Join(e.exec, "runc", "hold")
	if err := os.WriteFile(hold, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	paused := make(chan error, 1)
	go func() { paused <- e.m.Pause(t.Context(), c.ID) }()
	time.Sleep(50 * time.Millisecond)
	if info, err := e.m.Get(c.ID); err != nil || info.State != Running {
		t.Fatalf("during pause: %s, %v", info.State, err)
	}
	select {
	case err := <-paused:
		t.Fatalf("pause returned while the runtime is held: %v", err)
	default:
	}
	os.Remove(hold)
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	e.waitState(t, c.ID, Paused)
	if err := e.m.Unpause(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, c.ID, Running)
	if _, err := e.m.Stop(t.Context(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestManagerRecordExit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		run        string // "": the current run's id
		runID      int    // format 1's counter
		autoRemove bool
		wantState  State
		wantGone   bool
	}{
		{name: "this run", wantState: Exited},
		{name: "another run", run: "0123456789abcdef0123456789abcdef", wantState: Running},
		{name: "a format 1 run of the same container", run: "-", runID: 1, wantState: Running},
		{name: "auto-remove", autoRemove: true, wantGone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestManager(t, newFakeScopes())
			c, err := e.m.Create(t.Context(), e.snap, "", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}, AutoRemove: tc.autoRemove})
			if err != nil {
				t.Fatal(err)
			}
			started, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			run := tc.run
			switch run {
			case "":
				run = started.Run.ID
			case "-":
				run = ""
			}
			e.m.recordExit(c.ID, contract.Exit{ID: c.ID, Run: run, RunID: tc.runID, ExitCode: 42})
			info, err := e.m.Get(c.ID)
			if tc.wantGone {
				if !errors.Is(err, errdefs.ErrNotFound) {
					t.Fatalf("auto-remove container after its exit: %+v, %v", info.Record, err)
				}
				return
			}
			if err != nil || info.State != tc.wantState {
				t.Fatalf("state %s (%v), want %s", info.State, err, tc.wantState)
			}
			if tc.wantState == Exited && info.ExitCode != 42 {
				t.Fatalf("exit code %d", info.ExitCode)
			}
			if info.State == Running {
				e.m.Stop(t.Context(), c.ID, nil)
			}
		})
	}
}

// TestManagerStartResetsExitCode: a started container's exit code is 0,
// not the code of its previous run (docker's State.ExitCode).
func TestManagerStartResetsExitCode(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c, err := e.m.Create(t.Context(), e.snap, "", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	started, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.m.recordExit(c.ID, contract.Exit{ID: c.ID, Run: started.Run.ID, ExitCode: 137})
	e.units.set(started.Run.Unit, "inactive")
	if info, err := e.m.Get(c.ID); err != nil || info.State != Exited || info.ExitCode != 137 {
		t.Fatalf("after the exit: %s %d (%v), want exited 137", info.State, info.ExitCode, err)
	}
	again, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.State != Running || again.ExitCode != 0 {
		t.Fatalf("started again: %s %d, want running 0", again.State, again.ExitCode)
	}
	e.m.Stop(t.Context(), c.ID, nil)
}

// TestManagerReconcile: Load brings a record that says running in line
// with its exit record and with systemd.
func TestManagerReconcile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unit     string // ActiveState of the scope
		bootID   string // "" means this boot
		exitCode *int   // exit record of the run, if any
		format1  bool   // the record and the exit are of format 1 (run counter)
		want     State
		wantCode int
	}{
		{name: "format 1 exit recorded", unit: "active", format1: true, exitCode: ptr(5), want: Exited, wantCode: 5},
		{name: "format 1 scope active", unit: "active", format1: true, want: Running},
		{name: "scope active", unit: "active", want: Running},
		{name: "scope gone", unit: "", want: Exited, wantCode: 255},
		{name: "scope failed", unit: "failed", want: Exited, wantCode: 255},
		{name: "exit recorded", unit: "active", exitCode: ptr(7), want: Exited, wantCode: 7},
		{name: "other boot", unit: "active", bootID: "another-boot", want: Exited, wantCode: 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			units := newFakeScopes()
			e := newTestManager(t, units)
			c := e.create(t, "r")
			boot := tc.bootID
			if boot == "" {
				boot = systemd.BootID()
			}
			rec := c.Record
			rec.State = Running
			rec.Run = &Run{ID: "00000000000000000000000000000004", Unit: c.Unit(), BootID: boot, RunDir: e.m.runDir(c.ID)}
			rec.Version = RecordVersion
			ex := contract.Exit{Version: contract.FormatVersion, ID: c.ID, Run: rec.Run.ID}
			if tc.format1 {
				rec.Run.ID, rec.Run.Seq, rec.Version = "", 4, 1
				ex = contract.Exit{Version: 1, ID: c.ID, RunID: 4}
			}
			dir := e.m.containerDir(c.ID)
			if err := atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.exitCode != nil {
				ex.ExitCode = *tc.exitCode
				if err := atomicfile.WriteJSON(contract.ExitPath(dir), ex, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			units.set(c.Unit(), tc.unit)
			e.m.Close()
			m := New(Options{DataRoot: e.data, ExecRoot: e.exec, MonitorPath: e.m.monitorPath, Units: units, Log: e.m.log})
			if _, err := m.Load(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			info, err := m.Get(c.ID)
			if err != nil || info.State != tc.want || info.ExitCode != tc.wantCode {
				t.Fatalf("after Load: %s exit %d (%v), want %s exit %d", info.State, info.ExitCode, err, tc.want, tc.wantCode)
			}
		})
	}
}

func TestManagerCreateNameTaken(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	e.create(t, "one")
	_, err := e.m.Create(t.Context(), e.snap, "one", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}})
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create of one: %v", err)
	}
	if n := len(e.m.List()); n != 1 {
		t.Fatalf("%d containers", n)
	}
}

func ptr[T any](v T) *T { return &v }

// TestManagerAutoRemoveOnFailedStart: an auto-remove container whose start
// fails is removed with its directory; one without auto-remove stays.
func TestManagerAutoRemoveOnFailedStart(t *testing.T) {
	for _, autoRemove := range []bool{true, false} {
		t.Run(fmt.Sprint("auto-remove ", autoRemove), func(t *testing.T) {
			e := newTestManager(t, newFakeScopes())
			c, err := e.m.Create(t.Context(), e.snap, "fail-rm", Spec{Rootfs: e.rootfs, Cmd: []string{"true"}, AutoRemove: autoRemove})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{}); err == nil {
				t.Fatal("the start succeeded")
			}
			_, err = e.m.Get(c.ID)
			_, serr := os.Stat(e.m.containerDir(c.ID))
			if autoRemove && (!errors.Is(err, errdefs.ErrNotFound) || !errors.Is(serr, os.ErrNotExist)) {
				t.Fatalf("after the failed start: %v, directory: %v", err, serr)
			}
			if !autoRemove && (err != nil || serr != nil) {
				t.Fatalf("a container without auto-remove went: %v, %v", err, serr)
			}
		})
	}
}

// reload is a restart of berthd: a new manager over the same roots.
func (e *testEnv) reload(t *testing.T) *Manager {
	t.Helper()
	m := New(Options{DataRoot: e.data, ExecRoot: e.exec, MonitorPath: e.m.monitorPath, Units: e.units, Log: e.m.log})
	if _, err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	e.m = m
	return m
}

// TestManagerInterruptedStart: a start that a crash of berthd cut short
// left its run in Next; the next berthd adopts a monitor that serves it,
// records the exit of one that ended, and drops one that never ran.
func TestManagerInterruptedStart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scope    string // the scope's state after the crash
		exitCode *int   // the run's exit record
		want     State
	}{
		{name: "monitor serves", scope: "active", want: Running},
		{name: "run ended", scope: "", exitCode: ptr(4), want: Exited},
		{name: "never launched", scope: "", want: Created},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestManager(t, newFakeScopes())
			c := e.create(t, "i")
			info, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// berthd dies.
			e.stop()
			e.m.Close()
			// The record as a crash between launch and commit leaves it.
			rec := info.Record
			rec.Next, rec.Run, rec.State, rec.Pid = rec.Run, nil, Created, 0
			dir := e.m.containerDir(c.ID)
			if err := atomicfile.WriteJSON(filepath.Join(dir, "container.json"), rec, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.scope != "active" {
				// Its monitor is gone too.
				contract.Ask(t.Context(), rec.Next.RunDir, contract.Request{Op: contract.OpStop}, time.Second)
				for i := 0; i < 500; i++ {
					if _, err := os.Stat(contract.ExitPath(dir)); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond) // its notice is sent
				os.Remove(contract.ExitPath(dir))
				e.units.set(rec.Next.Unit, tc.scope)
			}
			if tc.exitCode != nil {
				ex := rec.Next.exitOf(c.ID, *tc.exitCode)
				if err := atomicfile.WriteJSON(contract.ExitPath(dir), ex, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			m := e.reload(t)
			var got Info
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				got = e.waitState(t, c.ID, tc.want)
				if got.Next == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Next still recorded: %+v", got.Next)
				}
			}
			switch tc.want {
			case Running:
				if got.Pid == 0 || got.Run == nil || got.Run.ID != rec.Next.ID {
					t.Fatalf("adopted %+v", got.Record)
				}
				if _, err := m.Stop(t.Context(), c.ID, nil); err != nil {
					t.Fatal(err)
				}
				e.units.set(rec.Next.Unit, "") // its monitor has left
			case Exited:
				if got.ExitCode != *tc.exitCode {
					t.Fatalf("exit code %d", got.ExitCode)
				}
			}
			// Whatever the outcome, the next start works.
			if _, err := m.Start(t.Context(), e.snap, c.ID, StartOptions{}); err != nil {
				t.Fatalf("start after the crash: %v", err)
			}
			m.Stop(t.Context(), c.ID, nil)
		})
	}
}

// TestManagerNoticeTrust: a datagram on notify.sock that does not come
// from the run's monitor changes nothing, whatever it claims.
func TestManagerNoticeTrust(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c := e.create(t, "n")
	info, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []contract.Exit{
		{ID: c.ID, Run: info.Run.ID, ExitCode: 42},
		{ID: c.ID, Run: info.Run.ID, Secret: info.Run.Secret, ExitCode: 42, Removed: true},
	} {
		self := &unix.Ucred{Pid: int32(os.Getpid()), Uid: uint32(os.Getuid())}
		for _, cred := range []*unix.Ucred{nil, self} {
			e.m.onNotice(t.Context(), ex, cred)
		}
	}
	time.Sleep(100 * time.Millisecond)
	got, err := e.m.Get(c.ID)
	if err != nil || got.State != Running {
		t.Fatalf("after spoofed notices: %s, %v", got.State, err)
	}
	if _, err := os.Stat(e.m.containerDir(c.ID)); err != nil {
		t.Fatal(err)
	}
	e.m.Stop(t.Context(), c.ID, nil)
}

func TestRunOwnsAndTrusts(t *testing.T) {
	run := Run{ID: "aa", Secret: "s"}
	legacy := Run{Seq: 3}
	for _, tc := range []struct {
		name        string
		run         Run
		ex          contract.Exit
		owns, trust bool
	}{
		{"same id and secret", run, contract.Exit{Run: "aa", Secret: "s"}, true, true},
		{"same id, no secret", run, contract.Exit{Run: "aa"}, true, false},
		{"same id, wrong secret", run, contract.Exit{Run: "aa", Secret: "t"}, true, false},
		{"another id", run, contract.Exit{Run: "ab", Secret: "s"}, false, true},
		{"a counter for a unique run", run, contract.Exit{RunID: 0}, false, false},
		{"format 1: same counter", legacy, contract.Exit{RunID: 3}, true, true},
		{"format 1: another counter", legacy, contract.Exit{RunID: 4}, false, true},
		{"format 1: a unique id", legacy, contract.Exit{Run: "aa", RunID: 3}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.run.owns(tc.ex); got != tc.owns {
				t.Errorf("owns = %v", got)
			}
			if got := tc.run.trusts(tc.ex); got != tc.trust {
				t.Errorf("trusts = %v", got)
			}
		})
	}
}

// A stop or restart with a signal that is no signal is refused, naming it,
// before the container is touched.
func TestStopRefusesAnUnknownSignal(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c := e.create(t, "sig")
	for name, call := range map[string]func() error{
		"stop": func() error {
			_, err := e.m.StopWith(t.Context(), c.ID, StopOptions{Signal: "SIGNOPE"})
			return err
		},
		"restart": func() error {
			_, err := e.m.RestartWith(t.Context(), e.snap, c.ID, StopOptions{Signal: "SIGNOPE"})
			return err
		},
	} {
		err := call()
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `"SIGNOPE"`) {
			t.Errorf("%s with SIGNOPE: %v, want an invalid argument naming it", name, err)
		}
	}
	if info, err := e.m.Get(c.ID); err != nil || info.State != Created {
		t.Errorf("after the refusals: %+v %v", info.State, err)
	}
}

// TestManagerNoticeAck: berthd answers an exit notice from a socket with
// an address of its own once it has dealt with it, so that a monitor can
// stay until it has been checked (a notice from outside the scope's
// supervisor cgroup, as here, is still ignored).
func TestManagerNoticeAck(t *testing.T) {
	e := newTestManager(t, newFakeScopes())
	c := e.create(t, "a")
	info, err := e.m.Start(t.Context(), e.snap, c.ID, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	self := &net.UnixAddr{Name: fmt.Sprintf("@berth-test-%d", os.Getpid()), Net: "unixgram"}
	conn, err := net.DialUnix("unixgram", self, &net.UnixAddr{Name: e.m.notifyPath(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, _ := json.Marshal(contract.Exit{Version: contract.FormatVersion, ID: c.ID, Run: info.Run.ID, Secret: info.Run.Secret, ExitCode: 42})
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 16)
	n, err := conn.Read(ack)
	if err != nil || string(ack[:n]) != contract.NoticeAck {
		t.Fatalf("answer %q, %v", ack[:n], err)
	}
	if got, _ := e.m.Get(c.ID); got.State != Running {
		t.Fatalf("a notice from outside the supervisor cgroup was applied: %s", got.State)
	}
}
