package dbusapi

import (
	"strings"
	"testing"

	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

func TestMountOptions(t *testing.T) {
	base := func() map[string]dbus.Variant {
		return map[string]dbus.Variant{"image": dbus.MakeVariant("busybox")}
	}
	for _, tc := range []struct {
		name, key string
		value     any
		want      string
	}{
		{"binds as string", "binds", "/a:/b", `option "binds": want a string array`},
		{"mounts as string", "mounts", "type=bind", `option "mounts": want a string array`},
		{"mount with an unknown field", "mounts", []string{"type=bind,colour=red"}, `unknown field "colour"`},
		{"tmpfs as array", "tmpfs", []string{"/run"}, `option "tmpfs": want a map`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			o[tc.key] = dbus.MakeVariant(tc.value)
			_, _, err := specFromOptions(o)
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	o := base()
	o["binds"] = dbus.MakeVariant([]string{"data:/data"})
	o["mounts"] = dbus.MakeVariant([]string{"type=tmpfs,target=/t,tmpfs-size=1m"})
	o["tmpfs"] = dbus.MakeVariant(map[string]string{"/run": "size=64m"})
	_, s, err := specFromOptions(o)
	if err != nil || len(s.Binds) != 1 || len(s.Mounts) != 1 || s.Mounts[0].Type != lifecycle.MountTmpfs || s.Mounts[0].TmpfsSize != 1<<20 || s.Tmpfs["/run"] != "size=64m" {
		t.Fatalf("valid mount options: %+v, %v", s, err)
	}
}

func TestMountsView(t *testing.T) {
	var i lifecycle.Info
	if v := mountsView(i); v == nil || len(v) != 0 {
		t.Fatalf("no mounts: %#v, want []", v)
	}
	hc := hostConfigMounts(i)
	if b := hc["Binds"].([]string); b == nil {
		t.Fatal("Binds is null")
	}
	if m := hc["Tmpfs"].(map[string]string); m == nil {
		t.Fatal("Tmpfs is null")
	}
	i.Spec.MountPoints = []lifecycle.MountPoint{{Type: lifecycle.MountVolume, Name: "data", Source: "/v/data/_data", Destination: "/data", RW: true}}
	v := mountsView(i)
	if v[0]["Name"] != "data" || v[0]["Mode"] != "z" || v[0]["Driver"] != "local" || v[0]["Propagation"] != "" {
		t.Fatalf("volume mount: %v", v[0])
	}
}
