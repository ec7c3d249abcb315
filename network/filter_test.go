package network

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

func TestFilters(t *testing.T) {
	web := &Network{ID: "abc123", Name: "webnet", Driver: DriverBridge, Labels: map[string]string{"app": "web", "tier": ""}}
	host := &Network{ID: "def456", Name: Host, Driver: DriverHost}
	for _, tc := range []struct {
		name    string
		filters []string
		users   int
		net     *Network
		want    bool
	}{
		{"none", nil, 0, web, true},
		{"name substring", []string{"name=bne"}, 0, web, true},
		{"name other", []string{"name=db"}, 0, web, false},
		{"name any of", []string{"name=db", "name=web"}, 0, web, true},
		{"id prefix", []string{"id=abc"}, 0, web, true},
		{"id not prefix", []string{"id=123"}, 0, web, false},
		{"driver", []string{"driver=bridge"}, 0, web, true},
		{"driver host", []string{"driver=bridge"}, 0, host, false},
		{"scope", []string{"scope=local"}, 0, web, true},
		{"scope swarm", []string{"scope=swarm"}, 0, web, false},
		{"custom", []string{"type=custom"}, 0, web, true},
		{"custom predefined", []string{"type=custom"}, 0, host, false},
		{"builtin", []string{"type=builtin"}, 0, host, true},
		{"label key", []string{"label=tier"}, 0, web, true},
		{"label value", []string{"label=app=web"}, 0, web, true},
		{"label all must hold", []string{"label=app=web", "label=x"}, 0, web, false},
		{"dangling unused", []string{"dangling=true"}, 0, web, true},
		{"dangling used", []string{"dangling=true"}, 1, web, false},
		{"dangling predefined", []string{"dangling=true"}, 0, host, false},
		{"not dangling", []string{"dangling=false"}, 1, web, true},
		{"keys and", []string{"driver=bridge", "name=db"}, 0, web, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilters(tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(tc.net, tc.users); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"name", "name=", "color=red", "type=other", "dangling=maybe"} {
		if _, err := ParseFilters([]string{bad}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseFilters(%q) = %v, want invalid argument", bad, err)
		}
	}
}
