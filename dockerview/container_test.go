package dockerview

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/lifecycle"
)

// TestInspectDockerShape: the fields docker templates read are where
// docker has them, with docker's values, and empty collections are [] or
// {}, never null.
func TestInspectDockerShape(t *testing.T) {
	timeout := 7
	i := lifecycle.Info{Record: lifecycle.Record{ID: "abc", Name: "web", Spec: lifecycle.Spec{
		Image: "busybox", ImageID: "sha256:1111", Cmd: []string{"sh"}, Env: []string{"A=1"},
		StopSignal: "SIGUSR1", StopTimeout: &timeout,
	}}}
	b, err := JSON(Inspect(i, "/var/lib/berth/containers/abc"), map[string]any{"Unit": "berth-abc.scope"})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Name, Image, Unit string
		Config            struct {
			Image, StopSignal string
			Cmd, Env          []string
			StopTimeout       int
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "/web" || v.Image != "sha256:1111" || v.Config.Image != "busybox" || v.Config.StopSignal != "SIGUSR1" ||
		len(v.Config.Cmd) != 1 || len(v.Config.Env) != 1 || v.Config.StopTimeout != 7 || v.Unit != "berth-abc.scope" {
		t.Fatalf("inspect: %s", b)
	}
	for _, must := range []string{`"Tmpfs":{}`, `"Sysctls":{}`, `"Mounts":[]`} {
		if !strings.Contains(strings.ReplaceAll(strings.ReplaceAll(string(b), " ", ""), "\n", ""), must) {
			t.Errorf("inspect lacks %s", must)
		}
	}
	for _, never := range []string{`"Mounts":null`, `"Binds":null`, `"Tmpfs":null`, `"Sysctls":null`, `"CapAdd":null`, `"Labels":null`, `"Ulimits":null`, `"Devices":null`} {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(string(b), " ", ""), "\n", ""), never) {
			t.Errorf("inspect has %s", never)
		}
	}
}

func TestMounts(t *testing.T) {
	var i lifecycle.Info
	if v := Mounts(i); v == nil || len(v) != 0 {
		t.Fatalf("no mounts: %#v, want []", v)
	}
	hc := HostConfig(i)
	if hc.Binds == nil || hc.Tmpfs == nil || hc.Mounts == nil {
		t.Fatalf("null collections in HostConfig: %+v", hc)
	}
	i.Spec.MountPoints = []lifecycle.MountPoint{{Type: lifecycle.MountVolume, Name: "data", Source: "/v/data/_data", Destination: "/data", RW: true}}
	v := Mounts(i)
	if v[0].Name != "data" || v[0].Mode != "z" || v[0].Driver != "local" || v[0].Propagation != "" {
		t.Fatalf("volume mount: %+v", v[0])
	}
}

func TestStatus(t *testing.T) {
	now := time.Now()
	i := lifecycle.Info{Record: lifecycle.Record{State: lifecycle.Exited, ExitCode: 3, FinishedAt: now.Add(-2 * time.Minute)}}
	if got := Status(i, now); got != "Exited (3) 2 minutes ago" {
		t.Errorf("exited: %q", got)
	}
	i.State = lifecycle.Created
	if got := Status(i, now); got != "Created" {
		t.Errorf("created: %q", got)
	}
	i.State, i.ExitCode, i.FinishedAt = lifecycle.Restarting, 1, now.Add(-2*time.Second)
	if got := Status(i, now); got != "Restarting (1) 2 seconds ago" {
		t.Errorf("restarting: %q", got)
	}
}

func TestRestartPolicyView(t *testing.T) {
	if got := RestartPolicy(lifecycle.RestartPolicy{}); got.Name != "no" || got.MaximumRetryCount != 0 {
		t.Errorf("no policy: %+v", got)
	}
	if got := RestartPolicy(lifecycle.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}); got.Name != "on-failure" || got.MaximumRetryCount != 3 {
		t.Errorf("on-failure:3: %+v", got)
	}
}
