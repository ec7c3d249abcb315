package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
	"github.com/moby/go-archive"
	"github.com/spf13/cobra"
)

// cpCommand copies between a container and the local file system with
// docker cp's rules: the local side (what a source is, where a
// destination's content goes: into an existing directory, to a new name,
// "/." for a directory's content) is decided here with moby's go-archive,
// as the docker CLI does; berthd stats, archives and extracts paths
// inside the container.
func cpCommand(cl *client) *cobra.Command {
	var copyUIDGID, followLink bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berthctl cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files and directories between a container and the local file system",
		Long: "Copy files and directories between a container and the local file system.\n" +
			"- as the source reads a tar archive from standard input and extracts it into a directory of the container;\n" +
			"- as the destination writes a tar archive of the container's source to standard output.\n" +
			"Files copied into a container are owned by root unless -a keeps their owners.",
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcCtr, src := splitCpArg(args[0])
			dstCtr, dst := splitCpArg(args[1])
			switch {
			case src == "":
				return usagef("source can not be empty")
			case dst == "":
				return usagef("destination can not be empty")
			case srcCtr != "" && dstCtr != "":
				return usagef("copying between containers is not supported")
			case srcCtr != "":
				return copyFromContainer(cl, srcCtr, src, dst, followLink)
			case dstCtr != "":
				return copyToContainer(cl, src, dstCtr, dst, copyUIDGID, followLink)
			}
			return usagef("must specify at least one container source")
		},
	}
	cmd.Flags().BoolVarP(&copyUIDGID, "archive", "a", false, "Archive mode (keep the source's uid/gid)")
	cmd.Flags().BoolVarP(&followLink, "follow-link", "L", false, "Always follow a symbolic link in SRC_PATH")
	return cmd
}

// splitCpArg splits CONTAINER:PATH; an absolute path, or one whose part
// before the colon starts with ".", is local (as docker's).
func splitCpArg(arg string) (ctr, path string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, path, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, path
}

// missingPath reports whether err says that a container has no such
// path (not that there is no such container).
func missingPath(err error) bool {
	err = contract.FromDBus(err)
	return errdefs.IsNotFound(err) && !errors.Is(err, errs.NoSuchContainer)
}

func statPath(cl *client, ctr, path string) (contract.PathStat, error) {
	var st contract.PathStat
	err := cl.call("StatContainerPath", []any{&st}, ctr, path)
	return st, err
}

func copyFromContainer(cl *client, ctr, src, dst string, followLink bool) error {
	var rebaseName string
	if followLink {
		st, err := statPath(cl, ctr, src)
		if err != nil {
			return err
		}
		if os.FileMode(st.Mode)&os.ModeSymlink != 0 {
			// Copy what the link leads to, under the link's name.
			src, rebaseName = archive.GetRebaseName(src, st.LinkTarget)
		}
	}
	var fd dbus.UnixFD
	var st contract.PathStat
	if err := cl.call("GetContainerArchive", []any{&fd, &st}, ctr, src, noOpts()); err != nil {
		return err
	}
	content := os.NewFile(uintptr(fd), "archive")
	defer content.Close()
	if dst == "-" {
		_, err := io.Copy(os.Stdout, content)
		return err
	}
	info := archive.CopyInfo{Path: src, Exists: true, IsDir: os.FileMode(st.Mode).IsDir(), RebaseName: rebaseName}
	var pre io.Reader = content
	if rebaseName != "" {
		_, srcBase := archive.SplitPathDirEntry(src)
		rc := archive.RebaseArchiveEntries(content, srcBase, rebaseName)
		defer rc.Close()
		pre = rc
	}
	return archive.CopyTo(pre, info, dst)
}

func copyToContainer(cl *client, src, ctr, dst string, copyUIDGID, followLink bool) error {
	// The destination as the container has it: a link is followed (a
	// link to a directory is a directory to copy into); a missing one is
	// fine if its parent exists, which the extraction finds out.
	dstInfo := archive.CopyInfo{Path: dst}
	st, err := statPath(cl, ctr, dst)
	if err == nil && os.FileMode(st.Mode)&os.ModeSymlink != 0 {
		dstInfo.Path = st.LinkTarget
		st, err = statPath(cl, ctr, st.LinkTarget)
	}
	switch {
	case err == nil:
		dstInfo.Exists, dstInfo.IsDir = true, os.FileMode(st.Mode).IsDir()
	case !missingPath(err):
		return err
	}
	var content io.Reader
	var dir string
	if src == "-" {
		if !dstInfo.IsDir {
			return fmt.Errorf("destination \"%s:%s\" must be a directory", ctr, dst)
		}
		content, dir = os.Stdin, dstInfo.Path
	} else {
		srcInfo, err := archive.CopyInfoSourcePath(src, followLink)
		if err != nil {
			return err
		}
		tarred, err := archive.TarResource(srcInfo)
		if err != nil {
			return err
		}
		defer tarred.Close()
		d, prepared, err := archive.PrepareArchiveCopy(tarred, srcInfo, dstInfo)
		if err != nil {
			if errors.Is(err, archive.ErrCannotCopyDir) || errors.Is(err, archive.ErrDirNotExists) {
				return fmt.Errorf("%s:%s: %w", ctr, dst, err)
			}
			return err
		}
		defer prepared.Close()
		content, dir = prepared, d
	}
	// berthd reads the archive from a pipe that we fill.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	copyErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(pw, content)
		pw.Close()
		copyErr <- err
	}()
	err = cl.call("PutContainerArchive", nil, ctr, dir, dbus.UnixFD(pr.Fd()), map[string]dbus.Variant{
		"no_overwrite_dir_non_dir": dbus.MakeVariant(true),
		"copy_uid_gid":             dbus.MakeVariant(copyUIDGID),
	})
	pr.Close()
	if err != nil {
		return err
	}
	if err := <-copyErr; err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	return nil
}
