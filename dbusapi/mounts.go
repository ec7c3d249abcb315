package dbusapi

import (
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/lifecycle"
	"github.com/godbus/dbus/v5"
)

// mountKeys are CreateContainer's mount options: binds (as: docker's -v
// values), mounts (as: docker's --mount values, key=value,…), tmpfs
// (a{ss}: target → options, docker's --tmpfs).
var mountKeys = []string{"binds", "mounts", "tmpfs"}

// mountsFromOptions reads the mount options into s; every value is
// checked at create (lifecycle), a --mount's syntax here.
func mountsFromOptions(o map[string]dbus.Variant, s *lifecycle.Spec) error {
	var err error
	if s.Binds, err = optStrings(o, "binds"); err != nil {
		return err
	}
	ms, err := optStrings(o, "mounts")
	if err != nil {
		return err
	}
	for _, m := range ms {
		mt, err := lifecycle.ParseMount(m)
		if err != nil {
			return err
		}
		s.Mounts = append(s.Mounts, mt)
	}
	if v, ok := o["tmpfs"]; ok {
		t, ok := v.Value().(map[string]string)
		if !ok {
			return invalidOpt("tmpfs", "a map of target to options (a{ss})", v)
		}
		s.Tmpfs = t
	}
	return nil
}

// mountsView is inspect's Mounts: docker's shape, [] when none.
func mountsView(i lifecycle.Info) []map[string]any {
	out := []map[string]any{}
	for _, mp := range i.Spec.MountPoints {
		m := map[string]any{
			"Type": mp.Type, "Source": mp.Source, "Destination": mp.Destination,
			"Mode": mp.Mode, "RW": mp.RW, "Propagation": mp.Propagation,
		}
		if mp.Type == lifecycle.MountVolume {
			m["Name"] = mp.Name
			m["Driver"] = "local"
			if mp.Mode == "" {
				m["Mode"] = "z" // docker's default mode for volumes
			}
		}
		out = append(out, m)
	}
	return out
}

// mountEntries are a ListContainers row's mounts, never nil.
func mountEntries(i lifecycle.Info) []contract.MountEntry {
	out := []contract.MountEntry{}
	for _, mp := range i.Spec.MountPoints {
		name := mp.Name
		switch mp.Type {
		case lifecycle.MountBind:
			name = mp.Source
		case lifecycle.MountTmpfs:
			name = "tmpfs"
		}
		out = append(out, contract.MountEntry{Name: name, Destination: mp.Destination})
	}
	return out
}

// hostConfigMounts are inspect's HostConfig fields of mounts: Binds,
// Mounts (docker's mount.Mount shape) and Tmpfs, never null.
func hostConfigMounts(i lifecycle.Info) map[string]any {
	binds := i.Spec.Binds
	if binds == nil {
		binds = []string{}
	}
	mounts := []map[string]any{}
	for _, m := range i.Spec.Mounts {
		v := map[string]any{"Type": m.Type, "Source": m.Source, "Target": m.Target, "ReadOnly": m.ReadOnly}
		switch m.Type {
		case lifecycle.MountBind:
			if m.BindPropagation != "" {
				v["BindOptions"] = map[string]any{"Propagation": m.BindPropagation}
			}
		case lifecycle.MountVolume:
			labels := m.VolumeLabels
			if labels == nil {
				labels = map[string]string{}
			}
			v["VolumeOptions"] = map[string]any{"NoCopy": m.VolumeNoCopy, "Labels": labels}
		case lifecycle.MountTmpfs:
			t := map[string]any{"SizeBytes": m.TmpfsSize}
			if m.TmpfsMode != 0 {
				t["Mode"] = uint32(m.TmpfsMode)
			}
			v["TmpfsOptions"] = t
		}
		mounts = append(mounts, v)
	}
	tmpfs := i.Spec.Tmpfs
	if tmpfs == nil {
		tmpfs = map[string]string{}
	}
	return map[string]any{"Binds": binds, "Mounts": mounts, "Tmpfs": tmpfs}
}
