package dbusapi

import (
	"sort"
	"testing"

	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/volumes"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5/introspect"
)

func signature(args []introspect.Arg) (in, out string) {
	for _, a := range args {
		if a.Direction == "out" {
			out += a.Type
		} else {
			in += a.Type
		}
	}
	return
}

// TestExportedMethodsMatchContract checks the Go methods that godbus
// exports on the manager object against introspect.xml: same names, same
// argument types in both directions.
func TestExportedMethodsMatchContract(t *testing.T) {
	got := map[string]introspect.Method{}
	for _, m := range introspect.Methods(&manager{}) {
		got[m.Name] = m
	}
	want := map[string]introspect.Method{}
	for _, m := range contractInterface(ManagerInterface).Methods {
		want[m.Name] = m
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			g, ok := got[n]
			if !ok {
				t.Fatalf("introspect.xml declares %s but the manager does not export it", n)
			}
			wi, wo := signature(want[n].Args)
			gi, gout := signature(g.Args)
			if wi != gi || wo != gout {
				t.Fatalf("signature: exported (%s)->(%s), introspect.xml (%s)->(%s)", gi, gout, wi, wo)
			}
		})
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("manager exports %s, which introspect.xml does not declare", n)
		}
	}
}

// checkProps compares an object's properties with introspect.xml, types
// included.
func checkProps(t *testing.T, iface string, props map[string]any) {
	t.Helper()
	decl := contractInterface(iface).Properties
	if len(decl) != len(props) {
		t.Fatalf("introspect.xml declares %d properties of %s, the object has %d", len(decl), iface, len(props))
	}
	for _, p := range decl {
		v, ok := props[p.Name]
		if !ok {
			t.Errorf("property %s declared but not exported", p.Name)
			continue
		}
		if sig := introspectType(v); sig != p.Type {
			t.Errorf("property %s: type %s, introspect.xml says %s", p.Name, sig, p.Type)
		}
	}
}

func TestContainerPropertiesMatchContract(t *testing.T) {
	checkProps(t, ContainerInterface, containerProps(lifecycle.Info{}))
}

func TestVolumePropertiesMatchContract(t *testing.T) {
	checkProps(t, VolumeInterface, volumeProps(volumes.Volume{}))
}

func TestNetworkPropertiesMatchContract(t *testing.T) {
	checkProps(t, NetworkInterface, networkProps(&network.Network{}))
}

func TestImagePropertiesMatchContract(t *testing.T) {
	checkProps(t, ImageInterface, imageProps(images.Image{}))
}

func TestPathBusUnescape(t *testing.T) {
	for _, id := range []string{"0123abcdef", "abcdef0123", "a", "x_y.z-1", ""} {
		esc := sd.PathBusEscape(id)
		got, ok := pathBusUnescape(esc)
		if !ok || got != id {
			t.Errorf("pathBusUnescape(%q) = %q, %v; want %q", esc, got, ok, id)
		}
	}
	for _, bad := range []string{"_3", "_zz", "ab_4"} {
		if got, ok := pathBusUnescape(bad); ok {
			t.Errorf("pathBusUnescape(%q) = %q, accepted", bad, got)
		}
	}
}
