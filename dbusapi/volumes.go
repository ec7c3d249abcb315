package dbusapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/volumes"
	"github.com/containerd/errdefs"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Volume objects.
const (
	VolumeInterface = contract.VolumeInterface
	volumePrefix    = "/io/berth/Engine1/volume/"
)

// VolumePath is the object path of a volume.
func VolumePath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(volumePrefix + sd.PathBusEscape(name))
}

// VolumeEntry is one row of ListVolumes.
type VolumeEntry = contract.VolumeEntry

// SetVolumes gives the server the volume store (before Export); its
// objects follow the store from then on.
func (s *Server) SetVolumes(v *volumes.Store) {
	s.volumes = v
	v.OnChange(s.syncVolumes)
}

func labelsOf(v volumes.Volume) map[string]string {
	if v.Labels == nil {
		return map[string]string{}
	}
	return v.Labels
}

func volumeProps(v volumes.Volume) map[string]any {
	return map[string]any{
		"Name":       v.Name,
		"Driver":     v.Driver,
		"Mountpoint": v.Mountpoint,
		"CreatedAt":  micros(v.CreatedAt),
		"Labels":     labelsOf(v),
		"Anonymous":  v.Anonymous,
	}
}

// syncVolumes makes the exported volume objects match the store and
// emits VolumeNew / VolumeRemoved. A volume's properties never change.
func (s *Server) syncVolumes() {
	if s.volumes == nil {
		return
	}
	list, _ := s.volumes.List(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.volumeObjs == nil {
		s.volumeObjs = map[string]bool{}
	}
	seen := map[string]bool{}
	for _, e := range list {
		seen[e.Name] = true
		if s.volumeObjs[e.Name] {
			continue
		}
		pm := prop.Map{VolumeInterface: {}}
		for k, v := range volumeProps(e.Volume) {
			pm[VolumeInterface][k] = &prop.Prop{Value: v, Emit: prop.EmitConst}
		}
		path := VolumePath(e.Name)
		if _, err := prop.Export(s.conn, path, pm); err != nil {
			s.log.Error("cannot export volume", "volume", e.Name, "err", err)
			continue
		}
		s.conn.Export(introspectable{iface: VolumeInterface}, path, "org.freedesktop.DBus.Introspectable")
		s.volumeObjs[e.Name] = true
		s.conn.Emit(ManagerPath, ManagerInterface+".VolumeNew", e.Name, path)
	}
	for name := range s.volumeObjs {
		if seen[name] {
			continue
		}
		path := VolumePath(name)
		delete(s.volumeObjs, name)
		s.conn.Export(nil, path, "org.freedesktop.DBus.Properties")
		s.conn.Export(nil, path, "org.freedesktop.DBus.Introspectable")
		s.conn.Emit(ManagerPath, ManagerInterface+".VolumeRemoved", name, path)
	}
}

func (s *Server) volumeNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.volumeObjs {
		out = append(out, string(VolumePath(n))[len(volumePrefix):])
	}
	return out
}

// needVolumes refuses when there is no volume store and waits until the
// container records are read: only then does the store know every user
// of a volume.
func (m *manager) needVolumes() error {
	if m.s.volumes == nil {
		return fmt.Errorf("volumes are not available: %w", errdefs.ErrNotImplemented)
	}
	return m.s.mgr.WaitLoaded()
}

func volumeEntry(e volumes.Entry) VolumeEntry {
	return VolumeEntry{Name: e.Name, Driver: e.Driver, Mountpoint: e.Mountpoint, CreatedAt: micros(e.CreatedAt),
		Labels: labelsOf(e.Volume), Anonymous: e.Anonymous, Users: uint32(len(e.Users)), Path: VolumePath(e.Name)}
}

// CreateVolume: options name (s; empty: an anonymous-style random name),
// labels (a{ss}), driver (s, only "local").
func (m *manager) CreateVolume(sender dbus.Sender, options map[string]dbus.Variant) (name string, path dbus.ObjectPath, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needVolumes(); err != nil {
			return err
		}
		if err := knownOptions("CreateVolume", options, "name", "labels", "driver"); err != nil {
			return err
		}
		n, err := optString(options, "name")
		if err != nil {
			return err
		}
		driver, err := optString(options, "driver")
		if err != nil {
			return err
		}
		var labels map[string]string
		if v, ok := options["labels"]; ok {
			if labels, ok = v.Value().(map[string]string); !ok {
				return invalidOpt("labels", "a string map (a{ss})", v)
			}
		}
		v, _, err := m.s.volumes.Create(volumes.CreateOptions{Name: n, Driver: driver, Labels: labels})
		if err != nil {
			return err
		}
		name, path = v.Name, VolumePath(v.Name)
		return nil
	})
	return
}

// ListVolumes: options filter (as: name=, label=, dangling=, driver=).
func (m *manager) ListVolumes(options map[string]dbus.Variant) ([]VolumeEntry, *dbus.Error) {
	defer m.s.act.Begin()()
	if err := m.needVolumes(); err != nil {
		return nil, ToDBus(err)
	}
	if err := knownOptions("ListVolumes", options, "filter"); err != nil {
		return nil, ToDBus(err)
	}
	f, err := optStrings(options, "filter")
	if err != nil {
		return nil, ToDBus(err)
	}
	list, err := m.s.volumes.List(f)
	if err != nil {
		return nil, ToDBus(err)
	}
	out := []VolumeEntry{}
	for _, e := range list {
		out = append(out, volumeEntry(e))
	}
	return out, nil
}

// InspectVolume returns docker's shape of a volume as JSON.
func (m *manager) InspectVolume(sender dbus.Sender, name string) (out string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needVolumes(); err != nil {
			return err
		}
		v, err := m.s.volumes.Get(name)
		if err != nil {
			return err
		}
		users := m.s.volumes.Users(name)
		if users == nil {
			users = []string{}
		}
		b, err := json.MarshalIndent(map[string]any{
			"Name": v.Name, "Driver": v.Driver, "Mountpoint": v.Mountpoint, "CreatedAt": v.CreatedAt,
			"Labels": labelsOf(v), "Options": map[string]string{}, "Scope": "local", "Anonymous": v.Anonymous,
			"Containers": users, "ObjectPath": VolumePath(v.Name),
		}, "", "  ")
		out = string(b)
		return err
	})
	return
}

// RemoveVolume: options force (b): remove a volume that stopped
// containers use (never one a running container uses).
func (m *manager) RemoveVolume(sender dbus.Sender, name string, options map[string]dbus.Variant) *dbus.Error {
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needVolumes(); err != nil {
			return err
		}
		if err := knownOptions("RemoveVolume", options, "force"); err != nil {
			return err
		}
		force, err := optBool(options, "force", false)
		if err != nil {
			return err
		}
		return m.s.volumes.Remove(ctx, name, force, m.s.mgr.VolumeUserActive)
	})
}

// PruneVolumes: options all (b: named volumes too, not only anonymous
// ones), filter (as: label=, label!=).
func (m *manager) PruneVolumes(sender dbus.Sender, options map[string]dbus.Variant) (names []string, bytes uint64, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := m.needVolumes(); err != nil {
			return err
		}
		if err := knownOptions("PruneVolumes", options, "all", "filter"); err != nil {
			return err
		}
		all, err := optBool(options, "all", false)
		if err != nil {
			return err
		}
		f, err := optStrings(options, "filter")
		if err != nil {
			return err
		}
		p, err := m.s.volumes.Prune(ctx, all, f)
		names, bytes = p.Names, p.Bytes
		if names == nil {
			names = []string{}
		}
		return err
	})
	return
}
