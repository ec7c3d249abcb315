package lifecycle

import (
	"errors"
	"strings"
	"testing"

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
