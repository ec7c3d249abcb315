package dbusapi

import (
	"math"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

func TestKnownOptions(t *testing.T) {
	v := dbus.MakeVariant(true)
	for _, tc := range []struct {
		name  string
		o     map[string]dbus.Variant
		known []string
		want  string // "" means accepted
	}{
		{"none given", nil, []string{"force"}, ""},
		{"known", map[string]dbus.Variant{"force": v}, []string{"force"}, ""},
		{"case matters", map[string]dbus.Variant{"Force": v}, []string{"force"}, `option "Force": unknown to M (known: force)`},
		{"takes none", map[string]dbus.Variant{"x": v}, nil, `option "x": M takes no options`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := knownOptions("M", tc.o, tc.known...)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSpecFromOptionsRefuses(t *testing.T) {
	base := func() map[string]dbus.Variant {
		return map[string]dbus.Variant{"rootfs": dbus.MakeVariant("/srv/rootfs"), "cmd": dbus.MakeVariant([]string{"true"})}
	}
	for _, tc := range []struct {
		name, key string
		value     any
		want      string
	}{
		{"unknown key", "Force", true, `option "Force": unknown to CreateContainer (known: `},
		{"unknown key lists stop_signal", "stop-signal", "TERM", `, stop_signal, `},
		{"image and rootfs", "image", "busybox", `options "image" and "rootfs" given together`},
		{"cpus NaN", "cpus", math.NaN(), `option "cpus"`},
		{"cpus Inf", "cpus", math.Inf(1), `option "cpus"`},
		{"cpus 1e300", "cpus", 1e300, `option "cpus"`},
		{"cpus 1e-12", "cpus", 1e-12, `option "cpus"`},
		{"cpus as string", "cpus", "1", `option "cpus": want a number`},
		{"stop_timeout int64 max", "stop_timeout", int64(math.MaxInt64), `option "stop_timeout"`},
		{"stop_timeout uint64 max", "stop_timeout", uint64(math.MaxUint64), `option "stop_timeout": 18446744073709551615 is too large`},
		{"stop_timeout negative", "stop_timeout", int32(-5), `option "stop_timeout" -5: negative`},
		{"memory negative", "memory", int64(-1), `option "memory": negative`},
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
	_, s, err := specFromOptions(map[string]dbus.Variant{"rootfs": dbus.MakeVariant("/r"), "cpus": dbus.MakeVariant(0.5), "stop_timeout": dbus.MakeVariant(int32(30))})
	if err != nil || s.NanoCPUs != 5e8 || *s.StopTimeout != 30 {
		t.Fatalf("valid options: %+v, %v", s, err)
	}
}

func TestOptTimeout(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{uint64(math.MaxUint64), "too large"},
		{int64(math.MaxInt64), "more than"},
		{int32(-1), "negative"},
		{"10", "want an integer"},
	} {
		_, err := optTimeout(map[string]dbus.Variant{"timeout": dbus.MakeVariant(tc.v)})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("%v: got %v, want %q", tc.v, err, tc.want)
		}
	}
}
