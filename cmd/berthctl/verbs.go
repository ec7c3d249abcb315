package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
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

// containerCommand is "container prune"; the other verbs are top-level.
func containerCommand(cl *client) *cobra.Command {
	c := &cobra.Command{Use: "container", Short: "Manage containers", Args: noArgs}
	c.AddCommand(containerPruneCommand(cl))
	return c
}

func containerPruneCommand(cl *client) *cobra.Command {
	var yes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := noOpts()
			if len(filters) > 0 {
				o["filter"] = dbus.MakeVariant(filters)
			}
			var ids []string
			var bytes uint64
			if err := cl.call("PruneContainers", []any{&ids, &bytes}, o); err != nil {
				return err
			}
			if len(ids) > 0 {
				fmt.Println("Deleted Containers:")
				for _, id := range ids {
					fmt.Println(id)
				}
				fmt.Println()
			}
			fmt.Printf("Total reclaimed space: %s\n", units.HumanSize(float64(bytes)))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "Filter: until=TIME|DURATION, label=, label!= (repeatable)")
	cmd.Flags().BoolVarP(&yes, "force", "f", false, "Do not ask (berthctl never asks)")
	return cmd
}

func topCommand(cl *client) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "top CONTAINER [ps OPTIONS]",
		Short:             "Show the processes of a running container",
		Args:              minArgs(1),
		ValidArgsFunction: completeContainers(cl, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			var titles []string
			var procs [][]string
			psArgs := args[1:]
			if psArgs == nil {
				psArgs = []string{}
			}
			if err := cl.call("TopContainer", []any{&titles, &procs}, args[0], psArgs); err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(titles, "\t"))
			for _, p := range procs {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	// Everything after the container is ps's: -ef, aux, -o pid,comm.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// updateCommand is docker update's limits: only the flags given change.
func updateCommand(cl *client) *cobra.Command {
	var memory string
	var cpus float64
	var cpuShares uint64
	var pidsLimit int64
	var restart string
	var cmd *cobra.Command
	var o map[string]dbus.Variant
	cmd = eachCommand(cl, "update [OPTIONS] CONTAINER...", "Change the limits or restart policy of containers, running or not", false,
		func(r string) error { return cl.call("UpdateContainer", nil, r, o) })
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		o = noOpts()
		fs := cmd.Flags()
		if fs.Changed("memory") {
			n := uint64(0)
			if memory != "0" && memory != "" {
				var err error
				if n, err = memoryFlag(memory); err != nil {
					return err
				}
			}
			o["memory"] = dbus.MakeVariant(n)
		}
		if fs.Changed("cpus") {
			if cpus != 0 {
				if err := cpusFlag(cpus); err != nil {
					return err
				}
			}
			o["cpus"] = dbus.MakeVariant(cpus)
		}
		if fs.Changed("cpu-shares") {
			o["cpu_shares"] = dbus.MakeVariant(cpuShares)
		}
		if fs.Changed("pids-limit") {
			if pidsLimit < 0 {
				pidsLimit = 0 // as docker: -1 is unlimited
			}
			o["pids_limit"] = dbus.MakeVariant(uint64(pidsLimit))
		}
		if fs.Changed("restart") {
			o["restart_policy"] = dbus.MakeVariant(restart)
		}
		if len(o) == 0 {
			return usagef("you must provide one or more flags when using this command")
		}
		return nil
	}
	fs := cmd.Flags()
	fs.StringVarP(&memory, "memory", "m", "", "Memory limit (MemoryMax=), e.g. 64m, 1g; 0: none")
	fs.Float64Var(&cpus, "cpus", 0, "CPU limit in CPUs (CPUQuota=); 0: none")
	fs.Uint64VarP(&cpuShares, "cpu-shares", "c", 0, "Relative CPU weight, docker's scale (CPUWeight=); 0: the default")
	fs.Int64Var(&pidsLimit, "pids-limit", 0, "Task limit (TasksMax=); 0 or -1: unlimited")
	fs.StringVar(&restart, "restart", "", "Restart policy: no, on-failure[:MAX], always, unless-stopped")
	return cmd
}
