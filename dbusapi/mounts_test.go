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
