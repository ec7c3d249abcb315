package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// completeContainers completes container names (of running ones only if
// running) from the engine; with no engine at hand it offers nothing.
func completeContainers(cl *client, running bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		list, err := cl.list(!running)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range list {
			if strings.HasPrefix(e.Name, prefix) {
				out = append(out, e.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeImages completes the first argument with image names.
func completeImages(cl *client) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		var list []imageEntry
		if err := cl.call("ListImages", []any{&list}, noOpts()); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range list {
			for _, t := range e.RepoTags {
				if strings.HasPrefix(t, prefix) {
					out = append(out, t)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeVolumes completes every argument with volume names.
func completeVolumes(cl *client) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var list []volumeEntry
		if err := cl.call("ListVolumes", []any{&list}, noOpts()); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range list {
			if strings.HasPrefix(e.Name, prefix) {
				out = append(out, e.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNetworks completes every argument with network names.
func completeNetworks(cl *client) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var list []networkEntry
		if err := cl.call("ListNetworks", []any{&list}, noOpts()); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range list {
			if strings.HasPrefix(e.Name, prefix) {
				out = append(out, e.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNetworkThenContainer completes connect's and disconnect's
// NETWORK CONTAINER.
func completeNetworkThenContainer(cl *client) cobra.CompletionFunc {
	nets, ctrs := completeNetworks(cl), completeContainers(cl, false)
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return nets(cmd, args, prefix)
		case 1:
			return ctrs(cmd, args, prefix)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}
