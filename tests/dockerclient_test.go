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
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// TestDockerClient28 drives berth with github.com/docker/docker v28's
// client, the docker CLI 28's own code path, through the same calls as
// TestMobyClient.
func TestDockerClient28(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	ctx := t.Context()
	c, err := client.NewClientWithOpts(client.WithHost(berthHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ping, err := c.Ping(ctx)
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if ping.APIVersion != "1.51" || ping.OSType != "linux" {
		t.Errorf("ping: %+v", ping)
	}
	c.NegotiateAPIVersionPing(ping)
	if v := c.ClientVersion(); v != "1.51" {
		t.Errorf("negotiated version %q, want 1.51", v)
	}
	sv, err := c.ServerVersion(ctx)
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if sv.APIVersion != "1.51" || sv.MinAPIVersion != "1.40" || sv.Os != "linux" {
		t.Errorf("version: %+v", sv)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.CgroupDriver != "systemd" || info.Images != 1 || info.Containers != 0 || info.NCPU < 1 || info.MemTotal <= 0 {
		t.Errorf("info: driver %q images %d containers %d ncpu %d mem %d", info.CgroupDriver, info.Images, info.Containers, info.NCPU, info.MemTotal)
	}

	create := func(name string, cfg *container.Config, hc *container.HostConfig) string {
		t.Helper()
		cfg.Image = "busybox"
		r, err := c.ContainerCreate(ctx, cfg, hc, nil, nil, name)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return r.ID
	}
	start := func(id string) {
		t.Helper()
		if err := c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
	}
	inspect := func(id string) container.InspectResponse {
		t.Helper()
		r, err := c.ContainerInspect(ctx, id)
		if err != nil {
			t.Fatalf("inspect %s: %v", id, err)
		}
		return r
	}
	remove := func(id string, o container.RemoveOptions) {
		t.Helper()
		if err := c.ContainerRemove(ctx, id, o); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}
	logs := func(id string, o container.LogsOptions) (string, string) {
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
		att, err := c.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			t.Fatalf("attach: %v", err)
		}
		defer att.Close()
		res, errc := c.ContainerWait(ctx, id, container.WaitConditionNextExit)
		start(id)
		var out, errOut bytes.Buffer
		if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
			t.Fatalf("attach stream: %v", err)
		}
		if out.String() != seqLines(3000) || errOut.String() != "done\n" {
			t.Errorf("attach before start: stdout %d bytes (want %d), stderr %q", out.Len(), len(seqLines(3000)), errOut.String())
		}
		if r := within(t, 10*time.Second, "wait next-exit", res, errc); r.StatusCode != 3 {
			t.Errorf("wait: %+v, want 3", r)
		}
		res, errc = c.ContainerWait(ctx, id, container.WaitConditionNotRunning)
		if r := within(t, 5*time.Second, "wait not-running", res, errc); r.StatusCode != 3 {
			t.Errorf("wait not-running: %+v", r)
		}
		remove(id, container.RemoveOptions{})
	})

	t.Run("wait never misses an exit", func(t *testing.T) {
		for i := range 20 {
			id := create("", &container.Config{Cmd: []string{"sh", "-c", fmt.Sprintf("exit %d", i)}}, nil)
			res, errc := c.ContainerWait(ctx, id, container.WaitConditionNextExit)
			start(id)
			if r := within(t, 10*time.Second, fmt.Sprintf("wait %d", i), res, errc); r.StatusCode != int64(i) {
				t.Errorf("run %d: wait gave %d", i, r.StatusCode)
			}
			remove(id, container.RemoveOptions{})
		}
		for i := range 5 {
			id := create("", &container.Config{Cmd: []string{"sh", "-c", fmt.Sprintf("exit %d", i+1)}}, &container.HostConfig{AutoRemove: true})
			res, errc := c.ContainerWait(ctx, id, container.WaitConditionRemoved)
			start(id)
			if r := within(t, 10*time.Second, "wait removed", res, errc); r.StatusCode != int64(i+1) {
				t.Errorf("wait removed: %+v, want %d", r, i+1)
			}
			if _, err := c.ContainerInspect(ctx, id); !cerrdefs.IsNotFound(err) {
				t.Errorf("inspect after removal: %v, want not found", err)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		id := create("talker", &container.Config{Cmd: []string{"sh", "-c", "echo oops >&2; sleep 0.5; echo one; echo two; sleep 2; echo late; sleep 1000"}}, nil)
		start(id)
		eventually(t, 10*time.Second, "berthctl logs talker | grep -qx two")
		mid := time.Now()
		eventually(t, 10*time.Second, "berthctl logs talker | grep -qx late")
		out, errOut := logs(id, container.LogsOptions{})
		if out != "one\ntwo\nlate\n" || errOut != "oops\n" {
			t.Errorf("logs: %q %q", out, errOut)
		}
		if out, errOut := logs(id, container.LogsOptions{Tail: "2"}); out != "two\nlate\n" || errOut != "" {
			t.Errorf("logs tail 2: %q %q", out, errOut)
		}
		if out, errOut := logs(id, container.LogsOptions{Since: mid.Format(time.RFC3339Nano)}); out != "late\n" || errOut != "" {
			t.Errorf("logs since: %q %q", out, errOut)
		}
		out, _ = logs(id, container.LogsOptions{Timestamps: true, Tail: "1"})
		ts, text, _ := strings.Cut(strings.TrimSpace(out), " ")
		if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || text != "late" || at.Before(mid) {
			t.Errorf("logs -t --tail 1: %q: %v", out, err)
		}
		remove(id, container.RemoveOptions{Force: true})

		id = create("follow", &container.Config{Cmd: []string{"sh", "-c", "echo a; sleep 1; echo b; sleep 1; echo c"}}, nil)
		start(id)
		began := time.Now()
		out, _ = logs(id, container.LogsOptions{Follow: true})
		if out != "a\nb\nc\n" || time.Since(began) < time.Second {
			t.Errorf("logs -f: %q after %s", out, time.Since(began))
		}
		remove(id, container.RemoveOptions{})
	})

	t.Run("lifecycle", func(t *testing.T) {
		id := create("life", &container.Config{Cmd: []string{"sh", "-c", "trap 'echo got-usr1; exit 9' USR1; echo up; while :; do sleep 0.1; done"},
			Labels: map[string]string{"tier": "front"}}, nil)
		start(id)
		in := inspect("life")
		if in.Name != "/life" || in.State.Status != container.StateRunning || in.Config.Labels["tier"] != "front" {
			t.Errorf("inspect: name %q state %+v labels %v", in.Name, in.State, in.Config.Labels)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			top, err := c.ContainerTop(ctx, id, nil)
			if err == nil && len(top.Titles) > 0 && strings.Contains(fmt.Sprint(top.Processes), "sleep") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("top: %+v %v", top, err)
				break
			}
		}
		if err := c.ContainerPause(ctx, id); err != nil {
			t.Fatalf("pause: %v", err)
		}
		if st := inspect(id).State; !st.Paused {
			t.Errorf("after pause: %+v", st)
		}
		if err := c.ContainerUnpause(ctx, id); err != nil {
			t.Fatalf("unpause: %v", err)
		}
		if err := c.ContainerRename(ctx, id, "renamed"); err != nil {
			t.Fatalf("rename: %v", err)
		}
		if n := inspect(id).Name; n != "/renamed" {
			t.Errorf("after rename: %q", n)
		}
		list, err := c.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("name", "renamed"), filters.Arg("label", "tier=front"))})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Errorf("list name+label: %+v %v", list, err)
		}
		pid := inspect(id).State.Pid
		timeout := 5
		if err := c.ContainerRestart(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
			t.Fatalf("restart: %v", err)
		}
		if st := inspect(id).State; st.Status != container.StateRunning || st.Pid == pid {
			t.Errorf("after restart: %+v (pid was %d)", st, pid)
		}
		eventually(t, 10*time.Second, "test $(berthctl logs renamed | grep -c up) = 2")
		res, errc := c.ContainerWait(ctx, id, container.WaitConditionNotRunning)
		if err := c.ContainerKill(ctx, id, "SIGUSR1"); err != nil {
			t.Fatalf("kill USR1: %v", err)
		}
		if r := within(t, 10*time.Second, "wait after kill", res, errc); r.StatusCode != 9 {
			t.Errorf("kill -s USR1: exit %d, want 9", r.StatusCode)
		}
		list, err = c.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("status", "exited"), filters.Arg("exited", "9"), filters.Arg("ancestor", "busybox"))})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Errorf("list status/exited/ancestor: %+v %v", list, err)
		}
		start(id)
		eventually(t, 10*time.Second, "test $(berthctl logs renamed | grep -c up) = 3")
		timeout = 30
		began := time.Now()
		if err := c.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout, Signal: "SIGUSR1"}); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if st := inspect(id).State; st.Status != container.StateExited || st.ExitCode != 9 || time.Since(began) > 10*time.Second {
			t.Errorf("after stop with SIGUSR1: %+v after %s", st, time.Since(began))
		}
		if err := c.ContainerRemove(ctx, "nosuch", container.RemoveOptions{}); !cerrdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: nosuch") {
			t.Errorf("remove nosuch: %v", err)
		}
		remove(id, container.RemoveOptions{})

		id = create("withvol", &container.Config{Cmd: []string{"sleep", "1000"}, Volumes: map[string]struct{}{"/data": {}}}, nil)
		start(id)
		if err := c.ContainerRemove(ctx, id, container.RemoveOptions{}); !cerrdefs.IsConflict(err) {
			t.Errorf("remove running: %v, want a conflict", err)
		}
		remove(id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if v := must(t, "berthctl volume ls -q"); v != "" {
			t.Errorf("remove -v left volumes: %q", v)
		}
	})

	t.Run("exec", func(t *testing.T) {
		id := create("ex", &container.Config{Cmd: []string{"sleep", "1000"}}, nil)
		start(id)
		ex, err := c.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 4"},
			AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		att, err := c.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
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
		ei, err := c.ContainerExecInspect(ctx, ex.ID)
		if err != nil || ei.Running || ei.ExitCode != 4 || ei.ContainerID != id {
			t.Errorf("exec inspect: %+v %v", ei, err)
		}

		ex, err = c.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"sh", "-c", "cat; echo end"},
			AttachStdin: true, AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		att, err = c.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
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

		ex, err = c.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"sh", "-c", "sleep 2; exit 6"}})
		if err != nil {
			t.Fatalf("exec create: %v", err)
		}
		if err := c.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{Detach: true}); err != nil {
			t.Fatalf("exec start -d: %v", err)
		}
		if ei, err := c.ContainerExecInspect(ctx, ex.ID); err != nil || !ei.Running {
			t.Errorf("detached exec while running: %+v %v", ei, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			ei, err := c.ContainerExecInspect(ctx, ex.ID)
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
		remove(id, container.RemoveOptions{Force: true})
	})
}
