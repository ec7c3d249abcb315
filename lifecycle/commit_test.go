package lifecycle

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/containerd/errdefs"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() ocispecs.ImageConfig {
		return ocispecs.ImageConfig{Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, WorkingDir: "/w"}
	}
	for _, tc := range []struct {
		name    string
		changes []string
		check   func(c ocispecs.ImageConfig) bool
	}{
		{"cmd json", []string{`CMD ["a","b"]`}, func(c ocispecs.ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"a", "b"}) }},
		{"cmd shell", []string{`CMD echo hi there`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo hi there"})
		}},
		{"entrypoint drops the base's cmd", []string{`ENTRYPOINT ["/x"]`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Entrypoint, []string{"/x"}) && c.Cmd == nil
		}},
		{"entrypoint keeps a cmd given", []string{`CMD ["y"]`, `ENTRYPOINT ["/x"]`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"y"})
		}},
		{"env pairs, quotes, expansion", []string{`ENV A=2 B="two words"`, `ENV C=$A-x`, `ENV D old form`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=2", "B=two words", "C=2-x", "D=old form"})
		}},
		{"label", []string{`LABEL a=b "c d"=e`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Labels, map[string]string{"a": "b", "c d": "e"})
		}},
		{"workdir relative", []string{`WORKDIR sub`, `WORKDIR ../other`}, func(c ocispecs.ImageConfig) bool { return c.WorkingDir == "/w/other" }},
		{"workdir absolute", []string{`workdir /abs`}, func(c ocispecs.ImageConfig) bool { return c.WorkingDir == "/abs" }},
		{"user", []string{`USER 1000:1000`}, func(c ocispecs.ImageConfig) bool { return c.User == "1000:1000" }},
		{"expose", []string{`EXPOSE 80 53/udp 8000-8002/tcp`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.ExposedPorts, map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}})
		}},
		{"volume both forms", []string{`VOLUME ["/a","/b"]`, `VOLUME /c`}, func(c ocispecs.ImageConfig) bool {
			return reflect.DeepEqual(c.Volumes, map[string]struct{}{"/a": {}, "/b": {}, "/c": {}})
		}},
		{"stopsignal", []string{`STOPSIGNAL SIGUSR1`}, func(c ocispecs.ImageConfig) bool { return c.StopSignal == "SIGUSR1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if err := applyChanges(&c, tc.changes); err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("%+v", c)
			}
		})
	}
}

func TestApplyChangesRefused(t *testing.T) {
	for change, want := range map[string]string{
		"FROM busybox":      `change "FROM busybox": FROM is not an instruction commit takes`,
		"RUN rm -rf /":      `change "RUN rm -rf /": RUN is not an instruction commit takes`,
		"BOGUS x":           `change "BOGUS x": BOGUS is not an instruction`,
		"":                  `change "": file with no instructions`,
		"EXPOSE 0":          `EXPOSE "0": want a port`,
		"EXPOSE 80/icmp":    `protocol "icmp"`,
		"EXPOSE 90-80":      `EXPOSE "90-80": want a port`,
		"STOPSIGNAL SIGNOT": `change "STOPSIGNAL SIGNOT": signal "SIGNOT"`,
		"ENV":               `ENV needs NAME=VALUE pairs`,
		"USER":              `USER takes one argument`,
		"CMD":               `CMD needs a command`,
	} {
		c := ocispecs.ImageConfig{}
		err := applyChanges(&c, []string{change})
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: got %v, want InvalidArgument containing %q", change, err, want)
		}
	}
}

// The new config is the container's, with the image's ports and volumes,
// the changes, and one history entry more.
func TestCommitConfig(t *testing.T) {
	created := time.Unix(1, 0).UTC()
	base := dockerspec.DockerOCIImage{Image: ocispecs.Image{
		Platform: ocispecs.Platform{Architecture: "amd64", OS: "linux"},
		History:  []ocispecs.History{{Created: &created, CreatedBy: "base"}},
	}}
	base.Config.ImageConfig = ocispecs.ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Volumes: map[string]struct{}{"/data": {}}, Labels: map[string]string{"img": "1"}}
	spec := Spec{Env: []string{"PATH=/bin", "X=y"}, Entrypoint: []string{"/init"}, Cmd: []string{"run"}, Workdir: "/w", User: "1000",
		StopSignal: "SIGINT", Labels: map[string]string{"img": "1", "ctr": "2"},
		Healthcheck: &Healthcheck{Test: []string{"CMD-SHELL", "true"}, Retries: 2}}
	now := time.Unix(100, 0).UTC()
	cfg, err := commitConfig(base, spec, CommitOptions{Author: "me", Comment: "why", Changes: []string{"ENV Z=1"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if !reflect.DeepEqual(c.Env, []string{"PATH=/bin", "X=y", "Z=1"}) || !reflect.DeepEqual(c.Entrypoint, []string{"/init"}) ||
		!reflect.DeepEqual(c.Cmd, []string{"run"}) || c.WorkingDir != "/w" || c.User != "1000" || c.StopSignal != "SIGINT" ||
		!reflect.DeepEqual(c.Labels, spec.Labels) || len(c.ExposedPorts) != 1 || len(c.Volumes) != 1 {
		t.Fatalf("config: %+v", c)
	}
	if cfg.Author != "me" || !cfg.Created.Equal(now) || cfg.Architecture != "amd64" || cfg.OS != "linux" {
		t.Fatalf("image: %+v", cfg)
	}
	if len(cfg.History) != 2 || cfg.History[1].CreatedBy != "/init run" || cfg.History[1].Comment != "why" || cfg.History[1].Author != "me" {
		t.Fatalf("history: %+v", cfg.History)
	}
	if len(base.History) != 1 {
		t.Fatal("the base's history changed")
	}
	// docker's commit keeps the container's healthcheck.
	if hc := cfg.Config.Healthcheck; hc == nil || !reflect.DeepEqual(hc.Test, []string{"CMD-SHELL", "true"}) || hc.Retries != 2 {
		t.Fatalf("healthcheck: %+v", hc)
	}
}
