package dbusapi

import (
	"context"

	"github.com/berthd/berth/config"
	"github.com/godbus/dbus/v5"
)

// Change is one row of GetContainerChanges: docker's change kind (0
// modified, 1 added, 2 deleted) and the path.
type Change struct {
	Kind byte
	Path string
}

func (m *manager) GetContainerChanges(sender dbus.Sender, ref string) (changes []Change, derr *dbus.Error) {
	changes = []Change{}
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		cs, err := m.s.mgr.Changes(ctx, ref)
		for _, c := range cs {
			changes = append(changes, Change{Kind: byte(c.Kind), Path: c.Path})
		}
		return err
	})
	return
}

func (m *manager) ExportContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) (fd dbus.UnixFD, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("ExportContainer", options); err != nil {
			return err
		}
		rc, err := m.s.mgr.Export(ctx, ref)
		if err != nil {
			return err
		}
		// The stream's end reaches the client after the view is
		// unmounted.
		fd, err = m.s.passStream(rc, "export", "container", ref)
		return err
	})
	return
}
