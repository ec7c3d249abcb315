package engineapi

import (
	"github.com/berthd/berth/lifecycle"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.51", "1.51", 0}, {"1.9", "1.10", -1}, {"1.100", "1.51", 1}, {"2.0", "1.99", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestParseDetachKeys(t *testing.T) {
	k, err := parseDetachKeys("")
	if err != nil || string(k) != "\x10\x11" {
		t.Errorf("default: %q %v", k, err)
	}
	k, err = parseDetachKeys("ctrl-a,x,ctrl-[,ctrl-@")
	if err != nil || string(k) != "\x01x\x1b\x00" {
		t.Errorf("mixed: %q %v", k, err)
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ab"} {
		if _, err := parseDetachKeys(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v, want invalid argument", bad, err)
		}
	}
}

func TestParseUnixTime(t *testing.T) {
	got, err := parseUnixTime("1700000000.5")
	if err != nil || !got.Equal(time.Unix(1700000000, 5e8)) {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := parseUnixTime("yesterday"); err == nil {
		t.Error("a word was taken for a time")
	}
}

func TestSpecFromCreate(t *testing.T) {
	init := true
	pids := int64(-1)
	req := container.CreateRequest{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sh"}, Entrypoint: []string{""}, Volumes: map[string]struct{}{"/data": {}}},
		HostConfig: &container.HostConfig{Binds: []string{"/srv:/srv:ro"}, Init: &init, NetworkMode: "default",
			Mounts:    []mount.Mount{{Type: mount.TypeTmpfs, Target: "/run", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20}}},
			Resources: container.Resources{PidsLimit: &pids, Ulimits: []*container.Ulimit{}}},
	}
	s, err := specFromCreate(req)
	if err != nil {
		t.Fatal(err)
	}
	if s.Entrypoint == nil || len(s.Entrypoint) != 0 {
		t.Errorf("--entrypoint \"\": %q, want an empty non-nil entrypoint", s.Entrypoint)
	}
	if strings.Join(s.Binds, " ") != "/data /srv:/srv:ro" || !s.Init || s.Network != "" || s.PidsLimit != 0 {
		t.Errorf("spec: binds %q init %v network %q pids %d", s.Binds, s.Init, s.Network, s.PidsLimit)
	}
	if len(s.Mounts) != 1 || s.Mounts[0].TmpfsSize != 1<<20 {
		t.Errorf("mounts: %+v", s.Mounts)
	}
	req.HostConfig.RestartPolicy = container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}
	if s, err = specFromCreate(req); err != nil || s.RestartPolicy != (lifecycle.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}) {
		t.Errorf("restart policy: %+v, %v", s.RestartPolicy, err)
	}
	req.HostConfig.CPUQuota = 5000
	_, err = specFromCreate(req)
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "HostConfig.CPUQuota") {
		t.Errorf("unsupported fields: %v", err)
	}
	if _, err := specFromCreate(container.CreateRequest{Config: &container.Config{}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("no image: %v", err)
	}
}

func TestParseFilters(t *testing.T) {
	r := httptest.NewRequest("GET", `/containers/json?filters={"label":{"a=b":true},"status":["running"]}`, nil)
	f, err := parseFilters(r, "label", "status")
	if err != nil || f["label"][0] != "a=b" || f["status"][0] != "running" {
		t.Errorf("got %v %v", f, err)
	}
	if _, err := parseFilters(r, "label"); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "invalid filter 'status'") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestDecodeNetworkingConfig: docker-py 5's {"NAME": null} beside
// EndpointsConfig is ignored as dockerd ignores it; any other unknown key
// is refused.
func TestDecodeNetworkingConfig(t *testing.T) {
	nc, err := decodeNetworkingConfig([]byte(`{"host": null, "EndpointsConfig": {"host": {}}}`))
	if err != nil || nc == nil || len(nc.EndpointsConfig) != 1 {
		t.Fatalf("docker-py's shape: %+v, %v", nc, err)
	}
	if _, err := decodeNetworkingConfig([]byte(`{"Colour": "red"}`)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("an unknown key with a value: %v", err)
	}
	if nc, err := decodeNetworkingConfig(nil); nc != nil || err != nil {
		t.Errorf("absent: %+v, %v", nc, err)
	}
}
