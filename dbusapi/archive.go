package dbusapi

import (
	"context"
	"io"
	"os"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/lifecycle"
	"github.com/godbus/dbus/v5"
	apicontainer "github.com/moby/moby/api/types/container"
)

// PathStat is StatContainerPath's answer.
type PathStat = contract.PathStat

func wireStat(st apicontainer.PathStat) PathStat {
	return PathStat{Name: st.Name, Size: st.Size, Mode: uint32(st.Mode), Mtime: st.Mtime.UnixMicro(), LinkTarget: st.LinkTarget}
}

func (m *manager) StatContainerPath(sender dbus.Sender, ref, path string) (stat PathStat, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		st, err := m.s.mgr.ArchiveStat(ctx, ref, path)
		stat = wireStat(st)
		return err
	})
	return
}

func (m *manager) GetContainerArchive(sender dbus.Sender, ref, path string, options map[string]dbus.Variant) (fd dbus.UnixFD, stat PathStat, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("GetContainerArchive", options); err != nil {
			return err
		}
		// The stream outlives the call: it has a context of its own.
		rc, st, err := m.s.mgr.ArchiveGet(context.Background(), ref, path)
		if err != nil {
			return err
		}
		stat = wireStat(st)
		fd, err = m.s.passStream(rc, "archive", "container", ref, "path", path)
		return err
	})
	return
}

func (m *manager) PutContainerArchive(sender dbus.Sender, ref, path string, archive dbus.UnixFD, options map[string]dbus.Variant) *dbus.Error {
	f := os.NewFile(uintptr(archive), "container-archive")
	defer f.Close()
	return m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("PutContainerArchive", options, "no_overwrite_dir_non_dir", "copy_uid_gid"); err != nil {
			return err
		}
		var o lifecycle.PutOptions
		var err error
		if o.NoOverwriteDirNonDir, err = optBool(options, "no_overwrite_dir_non_dir", false); err != nil {
			return err
		}
		if o.CopyUIDGID, err = optBool(options, "copy_uid_gid", false); err != nil {
			return err
		}
		return m.s.mgr.ArchivePut(ctx, ref, path, f, o)
	})
}

func (m *manager) CommitContainer(sender dbus.Sender, ref string, options map[string]dbus.Variant) (id string, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		if err := knownOptions("CommitContainer", options, "reference", "author", "comment", "changes", "pause"); err != nil {
			return err
		}
		var o lifecycle.CommitOptions
		var err error
		if o.Reference, err = optString(options, "reference"); err != nil {
			return err
		}
		if o.Author, err = optString(options, "author"); err != nil {
			return err
		}
		if o.Comment, err = optString(options, "comment"); err != nil {
			return err
		}
		if o.Changes, err = optStrings(options, "changes"); err != nil {
			return err
		}
		if o.Pause, err = optBool(options, "pause", true); err != nil {
			return err
		}
		if id, err = m.s.mgr.Commit(ctx, ref, o); err != nil {
			return err
		}
		m.s.syncImages()
		return nil
	})
	return
}

// passStream hands the client the read end of a pipe that rc is copied
// into; the copy counts as activity for the idle exit until it ends (rc
// is read to its end or the client closes its end). what and attrs name
// the stream in the debug line of a copy that ended early.
func (s *Server) passStream(rc io.ReadCloser, what string, attrs ...any) (dbus.UnixFD, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		rc.Close()
		return 0, err
	}
	end := s.act.Begin()
	go func() {
		defer end()
		_, err := io.Copy(pw, rc)
		rc.Close()
		pw.Close()
		if err != nil {
			s.log.Debug(what+" stream ended early", append(attrs, "err", err)...)
		}
	}()
	return passFD(pr), nil
}
