package dbusapi

import (
	"strconv"
	"strings"

	"github.com/berthd/berth/lifecycle"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// containerObjects serves every container object from one registration
// for the subtree under containerPrefix: the properties are read from the
// manager when asked. So activation exports nothing per container
// (exporting 1000 objects one by one cost about 40 ms before the first
// answer), and an object exists exactly as long as its container.
type containerObjects struct{ s *Server }

// exportContainers registers the container subtree.
func (s *Server) exportContainers() error {
	o := containerObjects{s: s}
	root := dbus.ObjectPath(strings.TrimSuffix(containerPrefix, "/"))
	if err := s.conn.ExportSubtree(o, root, "org.freedesktop.DBus.Properties"); err != nil {
		return err
	}
	return s.conn.ExportSubtreeWithMap(introspectSubtree{o}, nil, root, "org.freedesktop.DBus.Introspectable")
}

// info returns the container that msg's object path names.
func (o containerObjects) info(msg dbus.Message) (lifecycle.Info, *dbus.Error) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	esc, ok := strings.CutPrefix(string(path), containerPrefix)
	if !ok || esc == "" || strings.Contains(esc, "/") {
		return lifecycle.Info{}, noObject(path)
	}
	id, ok := pathBusUnescape(esc)
	if !ok {
		return lifecycle.Info{}, noObject(path)
	}
	info, err := o.s.mgr.Get(id)
	if err != nil || info.ID != id || sd.PathBusEscape(id) != esc { // an object is named by the full id only
		return lifecycle.Info{}, noObject(path)
	}
	return info, nil
}

func noObject(path dbus.ObjectPath) *dbus.Error {
	e := dbus.MakeNoObjectError(path)
	return &e
}

// Get is org.freedesktop.DBus.Properties.Get.
func (o containerObjects) Get(msg dbus.Message, iface, name string) (dbus.Variant, *dbus.Error) {
	info, derr := o.info(msg)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	if iface != ContainerInterface {
		return dbus.Variant{}, prop.ErrIfaceNotFound
	}
	v, ok := containerProps(info)[name]
	if !ok {
		return dbus.Variant{}, prop.ErrPropNotFound
	}
	return dbus.MakeVariant(v), nil
}

// GetAll is org.freedesktop.DBus.Properties.GetAll.
func (o containerObjects) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	info, derr := o.info(msg)
	if derr != nil {
		return nil, derr
	}
	if iface != ContainerInterface && iface != "" {
		return nil, prop.ErrIfaceNotFound
	}
	out := map[string]dbus.Variant{}
	for k, v := range containerProps(info) {
		out[k] = dbus.MakeVariant(v)
	}
	return out, nil
}

// Set is org.freedesktop.DBus.Properties.Set: every property is
// read-only.
func (o containerObjects) Set(msg dbus.Message, iface, name string, v dbus.Variant) *dbus.Error {
	if _, derr := o.info(msg); derr != nil {
		return derr
	}
	return prop.ErrReadOnly
}

// introspectSubtree introspects the container directory (its children)
// and each container object.
type introspectSubtree struct{ o containerObjects }

// Introspect is org.freedesktop.DBus.Introspectable.Introspect.
func (i introspectSubtree) Introspect(msg dbus.Message) (string, *dbus.Error) {
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	if string(path) == strings.TrimSuffix(containerPrefix, "/") {
		return introspectable{children: func() []string {
			var c []string
			for _, id := range i.o.s.containerIDs() {
				c = append(c, strings.TrimPrefix(string(ContainerPath(id)), containerPrefix))
			}
			return c
		}}.Introspect()
	}
	if _, derr := i.o.info(msg); derr != nil {
		return "", derr
	}
	return introspectable{iface: ContainerInterface}.Introspect()
}

// propertiesChanged emits PropertiesChanged for the container properties
// that differ from what was last signalled (all that may change, the
// first time).
func (s *Server) propertiesChanged(info lifecycle.Info) {
	cur := containerProps(info)
	s.mu.Lock()
	last := s.emitted[info.ID]
	s.emitted[info.ID] = cur
	s.mu.Unlock()
	changed := map[string]dbus.Variant{}
	for k, v := range cur {
		if constProps[k] {
			continue
		}
		if old, ok := last[k]; ok && old == v {
			continue
		}
		changed[k] = dbus.MakeVariant(v)
	}
	if len(changed) > 0 {
		s.conn.Emit(ContainerPath(info.ID), "org.freedesktop.DBus.Properties.PropertiesChanged", ContainerInterface, changed, []string{})
	}
}

// constProps never change for a container (Name does, by RenameContainer).
var constProps = map[string]bool{"Id": true, "CreatedAt": true, "Unit": true}

// pathBusUnescape reverses go-systemd's PathBusEscape (systemd's object
// path label escaping: "_" and two hex digits per escaped byte).
func pathBusUnescape(s string) (string, bool) {
	if s == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}
