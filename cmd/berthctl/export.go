package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func diffCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Long: "List what changed in a container's root file system against its image, as docker diff: " +
			"A added, C changed, D deleted, one path a line. A container made with --rootfs has no image to compare with.",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			var changes []struct {
				Kind byte
				Path string
			}
			if err := cl.call("GetContainerChanges", []any{&changes}, args[0]); err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Printf("%s %s\n", container.ChangeType(c.Kind), c.Path)
			}
			return nil
		},
	}
}

// errTerminal is docker's refusal to write an archive to a terminal.
var errTerminal = errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")

func exportCommand(cl *client) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Long: "Write a tar archive of a container's whole root file system (its image's layers and its own, not its mounts), " +
			"as docker export, running or not (a running container is paused meanwhile). -o writes the file whole or not at all.",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && term.IsTerminal(int(os.Stdout.Fd())) {
				return errTerminal
			}
			return export(cl, args[0], output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to this file (default: standard output, if not a terminal)")
	return cmd
}

// export copies container ref's export to output, or to standard output
// when output is "". A file is written beside output and renamed onto it
// once complete, so output is never left half-written.
func export(cl *client, ref, output string) error {
	var out io.Writer = os.Stdout
	var tmp *os.File
	if output != "" {
		var err error
		if tmp, err = os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp*"); err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		out = tmp
	}
	in, err := cl.stream("ExportContainer", ref, noOpts())
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if tmp == nil {
		return nil
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), output)
}
