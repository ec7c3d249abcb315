//go:build e2e

package tests

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// berthHost is berth's socket as the host sees it, through the sandbox's
// root: a path-named unix socket is reachable from any network
// namespace, so the Go clients run in the test binary on the host.
func berthHost() string {
	return "unix:///proc/" + sandboxPID + "/root/run/berth/berth.sock"
}

// seqLines is `seq 1 n`'s output.
func seqLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// within fails the test unless ch delivers within d.
func within[T any](t *testing.T, d time.Duration, what string, ch <-chan T, errc <-chan error) T {
	t.Helper()
	var zero T
	select {
	case v := <-ch:
		return v
	case err := <-errc:
		t.Fatalf("%s: %v", what, err)
	case <-time.After(d):
		t.Fatalf("%s: nothing within %s", what, d)
	}
	return zero
}

// TestMobyClient drives berth with the official Go client
// (github.com/moby/moby/client): negotiation, version, info, a foreground
// run in the CLI's order (attach, wait, start), waits of every condition
// (an exit right after the wait is registered is never missed), logs,
// list filters, inspect, the lifecycle verbs, top, remove and exec.
func TestMobyClient(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	ctx := t.Context()
	c, err := client.New(client.WithHost(berthHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ping, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if ping.APIVersion != "1.51" || ping.OSType != "linux" {
		t.Errorf("ping: %+v", ping)
	}
	if v := c.ClientVersion(); v != "1.51" {
		t.Errorf("negotiated version %q, want 1.51", v)
	}
	sv, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if sv.APIVersion != "1.51" || sv.MinAPIVersion != "1.40" || sv.Os != "linux" {
		t.Errorf("version: %+v", sv)
	}
	info, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if i := info.Info; i.CgroupDriver != "systemd" || i.Images != 1 || i.Containers != 0 || i.NCPU < 1 || i.MemTotal <= 0 || i.DockerRootDir != "/var/lib/berth" {
		t.Errorf("info: driver %q images %d containers %d ncpu %d mem %d root %q", i.CgroupDriver, i.Images, i.Containers, i.NCPU, i.MemTotal, i.DockerRootDir)
	}

	create := func(name string, cfg *container.Config, hc *container.HostConfig) string {
		t.Helper()
		if cfg.Image == "" {
			cfg.Image = "busybox"
		}
		r, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return r.ID
	}
	start := func(id string) {
		t.Helper()
		if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
	}
	inspect := func(id string) container.InspectResponse {
		t.Helper()
		r, err := c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatalf("inspect %s: %v", id, err)
		}
		return r.Container
	}
	remove := func(id string, o client.ContainerRemoveOptions) {
		t.Helper()
		if _, err := c.ContainerRemove(ctx, id, o); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}
	logs := func(id string, o client.ContainerLogsOptions) (string, string) {
		t.Helper()
		o.ShowStdout, o.ShowStderr = true, true
		rc, err := c.ContainerLogs(ctx, id, o)
		if err != nil {
			t.Fatalf("logs %s: %v", id, err)
		}
		defer rc.Close()
		var out, errOut bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errOut, rc); err != nil {
			t.Fatalf("logs %s: demultiplex: %v", id, err)
		}
		return out.String(), errOut.String()
	}

	t.Run("attach before start", func(t *testing.T) {
		id := create("fg", &container.Config{Cmd: []string{"sh", "-c", "seq 1 3000; echo done >&2; exit 3"},
			AttachStdout: true, AttachStderr: true}, nil)
		att, err := c.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			t.Fatalf("attach: %v", err)
		}
		defer att.Close()
		wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
		start(id)
		var out, errOut bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
			t.Fatalf("attach stream: %v", err)
		}
		if out.String() != seqLines(3000) || errOut.String() != "done\n" {
			t.Errorf("attach before start: stdout %d bytes (want %d), stderr %q", out.Len(), len(seqLines(3000)), errOut.String())
		}
		if r := within(t, 10*time.Second, "wait next-exit", wait.Result, wait.Error); r.StatusCode != 3 {
			t.Errorf("wait: %+v, want 3", r)
		}
		// not-running on an exited container answers at once.
		wait = c.ContainerWait(ctx, id, client.ContainerWaitOptions{})
		if r := within(t, 5*time.Second, "wait not-running", wait.Result, wait.Error); r.StatusCode != 3 {
			t.Errorf("wait not-running: %+v", r)
		}
		remove(id, client.ContainerRemoveOptions{})
	})

	t.Run("wait never misses an exit", func(t *testing.T) {
		for i := range 20 {
			id := create("", &container.Config{Cmd: []string{"sh", "-c", fmt.Sprintf("exit %d", i)}}, nil)
			wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
			start(id)
			if r := within(t, 10*time.Second, fmt.Sprintf("wait %d", i), wait.Result, wait.Error); r.StatusCode != int64(i) {
				t.Errorf("run %d: wait gave %d", i, r.StatusCode)
			}
			remove(id, client.ContainerRemoveOptions{})
		}
		// removed: an auto-removed run's wait ends with the removal.
		for i := range 5 {
			id := create("", &container.Config{Cmd: []string{"sh", "-c", fmt.Sprintf("exit %d", i+1)}}, &container.HostConfig{AutoRemove: true})
			wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
			start(id)
			if r := within(t, 10*time.Second, "wait removed", wait.Result, wait.Error); r.StatusCode != int64(i+1) {
				t.Errorf("wait removed: %+v, want %d", r, i+1)
			}
			if _, err := c.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
				t.Errorf("inspect after removal: %v, want not found", err)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		id := create("talker", &container.Config{Cmd: []string{"sh", "-c", "echo one; echo two; echo oops >&2; sleep 2; echo late; sleep 1000"}}, nil)
		start(id)
		eventually(t, 10*time.Second, "berthctl logs talker 2>&1 | grep -qx oops")
		mid := time.Now()
		eventually(t, 10*time.Second, "berthctl logs talker | grep -qx late")
		out, errOut := logs(id, client.ContainerLogsOptions{})
		if out != "one\ntwo\nlate\n" || errOut != "oops\n" {
			t.Errorf("logs: %q %q", out, errOut)
		}
		if out, _ := logs(id, client.ContainerLogsOptions{Tail: "1"}); out != "late\n" {
			t.Errorf("logs tail 1: %q", out)
		}
		if out, errOut := logs(id, client.ContainerLogsOptions{Since: fmt.Sprintf("%d.%09d", mid.Unix(), mid.Nanosecond())}); out != "late\n" || errOut != "" {
			t.Errorf("logs since: %q %q", out, errOut)
		}
		out, _ = logs(id, client.ContainerLogsOptions{Timestamps: true})
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 {
			t.Fatalf("logs -t: %q", out)
		}
		for _, l := range lines {
			ts, text, _ := strings.Cut(l, " ")
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil || time.Since(at) > time.Minute || text == "" {
				t.Errorf("logs -t line %q: %v", l, err)
			}
		}
		remove(id, client.ContainerRemoveOptions{Force: true})

		// follow ends when the container does.
		id = create("follow", &container.Config{Cmd: []string{"sh", "-c", "echo a; sleep 1; echo b; sleep 1; echo c"}}, nil)
		start(id)
		began := time.Now()
		out, _ = logs(id, client.ContainerLogsOptions{Follow: true})
		if out != "a\nb\nc\n" || time.Since(began) < time.Second {
			t.Errorf("logs -f: %q after %s", out, time.Since(began))
		}
		remove(id, client.ContainerRemoveOptions{})
	})

	t.Run("lifecycle", func(t *testing.T) {
		id := create("life", &container.Config{Cmd: []string{"sh", "-c", "trap 'echo got-usr1; exit 9' USR1; echo up; while :; do sleep 0.1; done"},
			Labels: map[string]string{"tier": "front"}}, nil)
		start(id)
		in := inspect("life")
		if in.Name != "/life" || in.State.Status != container.StateRunning || in.Config.Labels["tier"] != "front" || in.State.Pid <= 0 {
			t.Errorf("inspect: name %q state %+v labels %v", in.Name, in.State, in.Config.Labels)
		}
		// The payload may still be runc's init for a moment after the
		// start.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			top, err := c.ContainerTop(ctx, id, client.ContainerTopOptions{})
			if err == nil && len(top.Titles) > 0 && strings.Contains(fmt.Sprint(top.Processes), "sleep") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("top: %+v %v", top, err)
				break
			}
		}
		if _, err := c.ContainerPause(ctx, id, client.ContainerPauseOptions{}); err != nil {
			t.Fatalf("pause: %v", err)
		}
		if st := inspect(id).State; !st.Paused || st.Status != container.StatePaused {
			t.Errorf("after pause: %+v", st)
		}
		if _, err := c.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil {
			t.Fatalf("unpause: %v", err)
		}
		if st := inspect(id).State; st.Paused || st.Status != container.StateRunning {
			t.Errorf("after unpause: %+v", st)
		}
		if _, err := c.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: "renamed"}); err != nil {
			t.Fatalf("rename: %v", err)
		}
		if n := inspect(id).Name; n != "/renamed" {
			t.Errorf("after rename: %q", n)
		}
		list, err := c.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("name", "renamed").Add("label", "tier=front")})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != id {
			t.Errorf("list name+label: %+v %v", list.Items, err)
		}
		pid := inspect(id).State.Pid
		timeout := 5
		if _, err := c.ContainerRestart(ctx, id, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
			t.Fatalf("restart: %v", err)
		}
		if st := inspect(id).State; st.Status != container.StateRunning || st.Pid == pid {
			t.Errorf("after restart: %+v (pid was %d)", st, pid)
		}
		// The restarted shell has set its trap once it says up again.
		eventually(t, 10*time.Second, "test $(berthctl logs renamed | grep -c up) = 2")
		wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{})
		if _, err := c.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "USR1"}); err != nil {
			t.Fatalf("kill USR1: %v", err)
		}
		if r := within(t, 10*time.Second, "wait after kill", wait.Result, wait.Error); r.StatusCode != 9 {
			t.Errorf("kill -s USR1: exit %d, want 9", r.StatusCode)
		}
		if out, _ := logs(id, client.ContainerLogsOptions{}); !strings.Contains(out, "got-usr1") {
			t.Errorf("logs after kill: %q", out)
		}
		list, err = c.ContainerList(ctx, client.ContainerListOptions{All: true,
			Filters: make(client.Filters).Add("status", "exited").Add("exited", "9").Add("ancestor", "busybox")})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Names[0] != "/renamed" {
			t.Errorf("list status/exited/ancestor: %+v %v", list.Items, err)
		}
		list, err = c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("exited", "3")})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("list exited=3: %+v %v", list.Items, err)
		}

		// A stop with a signal of its own: the trap ends the payload
		// with 9 at once, long before the timeout.
		start(id)
		eventually(t, 10*time.Second, "test $(berthctl logs renamed | grep -c up) = 3")
		timeout = 30
		began := time.Now()
		if _, err := c.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout, Signal: "SIGUSR1"}); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if st := inspect(id).State; st.Status != container.StateExited || st.ExitCode != 9 || time.Since(began) > 10*time.Second {
			t.Errorf("after stop with SIGUSR1: %+v after %s", st, time.Since(began))
		}
		if _, err := c.ContainerRemove(ctx, "nosuch", client.ContainerRemoveOptions{}); !cerrdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: nosuch") {
			t.Errorf("remove nosuch: %v", err)
		}
		remove(id, client.ContainerRemoveOptions{})

		// remove -f -v of a running container with an anonymous volume.
		id = create("withvol", &container.Config{Cmd: []string{"sleep", "1000"}, Volumes: map[string]struct{}{"/data": {}}}, nil)
		start(id)
		vols := inspect(id).Mounts
		if len(vols) != 1 || vols[0].Name == "" {
			t.Fatalf("anonymous volume: %+v", vols)
		}
		if _, err := c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{}); !cerrdefs.IsConflict(err) {
			t.Errorf("remove running: %v, want a conflict", err)
		}
		remove(id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if v := must(t, "berthctl volume ls -q"); v != "" {
			t.Errorf("remove -v left volumes: %q", v)
		}
	})

	t.Run("exec", func(t *testing.T) {
		id := create("ex", &container.Config{Cmd: []string{"sleep", "1000"}}, nil)
		start(id)
		ex, err := c.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 4"},
			AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		att, err := c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
		if err != nil {
			t.Fatalf("exec attach: %v", err)
		}
		var out, errOut bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
			t.Errorf("exec stream: %v", err)
		}
		att.Close()
		if out.String() != "out\n" || errOut.String() != "err\n" {
			t.Errorf("exec output %q %q", out.String(), errOut.String())
		}
		ei, err := c.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil || ei.Running || ei.ExitCode != 4 || ei.ContainerID != id {
			t.Errorf("exec inspect: %+v %v", ei, err)
		}

		// stdin, half-closed: cat sees its end.
		ex, err = c.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "cat; echo end"},
			AttachStdin: true, AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		att, err = c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
		if err != nil {
			t.Fatalf("exec attach: %v", err)
		}
		io.WriteString(att.Conn, "piped\n")
		att.CloseWrite()
		out.Reset()
		errOut.Reset()
		stdcopy.StdCopy(&out, &errOut, att.Reader)
		att.Close()
		if out.String() != "piped\nend\n" {
			t.Errorf("exec with stdin: %q %q", out.String(), errOut.String())
		}

		// detached: Running while it runs, then its exit code.
		ex, err = c.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "sleep 2; exit 6"}})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		if _, err := c.ExecStart(ctx, ex.ID, client.ExecStartOptions{Detach: true}); err != nil {
			t.Fatalf("exec start -d: %v", err)
		}
		if ei, err := c.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{}); err != nil || !ei.Running {
			t.Errorf("detached exec while running: %+v %v", ei, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			ei, err := c.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
			if err != nil {
				t.Fatalf("exec inspect: %v", err)
			}
			if !ei.Running {
				if ei.ExitCode != 6 {
					t.Errorf("detached exec: exit %d, want 6", ei.ExitCode)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("detached exec still running")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := c.ExecInspect(ctx, "nosuch", client.ExecInspectOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("exec inspect nosuch: %v", err)
		}
		remove(id, client.ContainerRemoveOptions{Force: true})
	})
}
