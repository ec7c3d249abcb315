package dbusapi

import (
	"errors"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

func TestLogOptions(t *testing.T) {
	v := dbus.MakeVariant
	at := time.UnixMicro(1_764_410_400_000_000)
	tests := []struct {
		name   string
		in     map[string]dbus.Variant
		ok     bool
		tail   int
		follow bool
		ts     bool
		since  time.Time
		until  time.Time
	}{
		{"none: everything", nil, true, -1, false, false, time.Time{}, time.Time{}},
		{"tail x", map[string]dbus.Variant{"tail": v(int64(5))}, true, 5, false, false, time.Time{}, time.Time{}},
		{"tail -1", map[string]dbus.Variant{"tail": v(int64(-1))}, true, -1, false, false, time.Time{}, time.Time{}},
		{"tail 0", map[string]dbus.Variant{"tail": v(int64(0))}, true, 0, false, false, time.Time{}, time.Time{}},
		{"tail of an old client (i)", map[string]dbus.Variant{"tail": v(int32(3))}, true, 3, false, false, time.Time{}, time.Time{}},
		{"tail 0 of an old client (i) is all", map[string]dbus.Variant{"tail": v(int32(0))}, true, -1, false, false, time.Time{}, time.Time{}},
		{"all of them", map[string]dbus.Variant{"follow": v(true), "timestamps": v(true), "since": v(at.UnixMicro()), "until": v(at.Add(time.Hour).UnixMicro())},
			true, -1, true, true, at, at.Add(time.Hour)},
		{"tail below -1", map[string]dbus.Variant{"tail": v(int64(-2))}, false, 0, false, false, time.Time{}, time.Time{}},
		{"negative since", map[string]dbus.Variant{"since": v(int64(-1))}, false, 0, false, false, time.Time{}, time.Time{}},
		{"until before since", map[string]dbus.Variant{"since": v(int64(10)), "until": v(int64(5))}, false, 0, false, false, time.Time{}, time.Time{}},
		{"follow not a boolean", map[string]dbus.Variant{"follow": v("yes")}, false, 0, false, false, time.Time{}, time.Time{}},
		{"since as a string", map[string]dbus.Variant{"since": v("10m")}, false, 0, false, false, time.Time{}, time.Time{}},
		{"unknown key", map[string]dbus.Variant{"details": v(true)}, false, 0, false, false, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := logOptions(tt.in)
			if !tt.ok {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("want an invalid-argument error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Tail != tt.tail || o.Follow != tt.follow || o.Timestamps != tt.ts || !o.Since.Equal(tt.since) || !o.Until.Equal(tt.until) {
				t.Fatalf("got %+v", o)
			}
		})
	}
}
