package main

import (
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
)

// commitCommand makes an image of a container's changes, as docker commit.
func commitCommand(cl *client) *cobra.Command {
	var author, message string
	var changes []string
	var pause bool
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%q requires at least 1 and at most 2 arguments", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{"pause": dbus.MakeVariant(pause)}
			if len(args) == 2 {
				putString(o, "reference", args[1])
			}
			putString(o, "author", author)
			putString(o, "comment", message)
			putStrings(o, "changes", changes)
			var id string
			if err := cl.call("CommitContainer", []any{&id}, args[0], o); err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
	cmd.Flags().StringVarP(&author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	cmd.Flags().StringVarP(&message, "message", "m", "", "Commit message")
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)")
	cmd.Flags().BoolVarP(&pause, "pause", "p", true, "Pause the container during the commit")
	return cmd
}
