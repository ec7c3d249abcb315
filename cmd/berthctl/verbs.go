package main

import (
	"github.com/spf13/cobra"
)

func renameCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:               "rename CONTAINER NEW_NAME",
		Short:             "Rename a container",
		Args:              exactArgs(2),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cl.call("RenameContainer", nil, args[0], args[1], noOpts())
		},
	}
}
