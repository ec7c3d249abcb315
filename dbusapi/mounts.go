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
