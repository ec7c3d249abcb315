package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
)

type volumeEntry = contract.VolumeEntry

// volumeCommands are "volume create|ls|inspect|rm|prune".
func volumeCommands(cl *client) []*cobra.Command {
	volume := groupCommand("volume COMMAND", "Manage volumes")
	volume.AddCommand(volumeCreateCommand(cl), volumeLsCommand(cl), volumeInspectCommand(cl), volumeRmCommand(cl), volumePruneCommand(cl))
	return []*cobra.Command{volume}
}

// labelMap reads KEY=VALUE labels (a bare KEY has an empty value).
func labelMap(labels []string) (map[string]string, error) {
	m := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, usagef("--label %q: want KEY=VALUE", l)
		}
		m[k] = v
	}
	return m, nil
}

func volumeCreateCommand(cl *client) *cobra.Command {
	var labels []string
	var driver string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume (a random name if none is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{}
			if len(args) == 1 {
				o["name"] = dbus.MakeVariant(args[0])
			}
			if len(labels) > 0 {
				m, err := labelMap(labels)
				if err != nil {
					return err
				}
				o["labels"] = dbus.MakeVariant(m)
			}
			if driver != "" {
				o["driver"] = dbus.MakeVariant(driver)
			}
			var name string
			var path dbus.ObjectPath
			if err := cl.call("CreateVolume", []any{&name, &path}, o); err != nil {
				return err
			}
			fmt.Println(name)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "Set a label KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&driver, "driver", "d", "", "Volume driver (only local)")
	return cmd
}

// volumeRow is one volume as ls templates see it.
type volumeRow struct{ e volumeEntry }

func (r volumeRow) Name() string       { return r.e.Name }
func (r volumeRow) Driver() string     { return r.e.Driver }
func (r volumeRow) Mountpoint() string { return r.e.Mountpoint }
func (r volumeRow) Scope() string      { return "local" }
func (r volumeRow) CreatedAt() string {
	return time.UnixMicro(int64(r.e.CreatedAt)).Format("2006-01-02 15:04:05 -0700 MST")
}
func (r volumeRow) Links() uint32 { return r.e.Users }
func (r volumeRow) Labels() string {
	var kv []string
	for k, v := range r.e.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Label returns the value of one label, as docker's template function.
func (r volumeRow) Label(name string) string { return r.e.Labels[name] }

var volumeHeaders = map[string]string{"Name": "VOLUME NAME", "Driver": "DRIVER", "Mountpoint": "MOUNTPOINT",
	"Scope": "SCOPE", "CreatedAt": "CREATED AT", "Links": "LINKS", "Labels": "LABELS"}

func volumeLsCommand(cl *client) *cobra.Command {
	var filters []string
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Long: "List volumes.\n\n-f/--filter: name=SUBSTRING, label=KEY[=VALUE], dangling=true|false (used by no container), driver=local. " +
			"--format takes a Go template (.Name .Driver .Mountpoint .Scope .CreatedAt .Links .Labels); --format json prints a JSON array.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []volumeEntry
			o := map[string]dbus.Variant{}
			if len(filters) > 0 {
				o["filter"] = dbus.MakeVariant(filters)
			}
			if err := cl.call("ListVolumes", []any{&list}, o); err != nil {
				return err
			}
			if quiet {
				for _, v := range list {
					fmt.Println(v.Name)
				}
				return nil
			}
			if format == "json" {
				b, _ := json.MarshalIndent(list, "", "  ")
				fmt.Println(string(b))
				return nil
			}
			if format == "" || format == "table" {
				format = `table {{.Driver}}\t{{.Name}}`
			}
			tmpl, err := parseTemplate(format)
			if err != nil {
				return usagef("--format: %w", err)
			}
			rows := make([]any, len(list))
			for i, v := range list {
				rows[i] = volumeRow{v}
			}
			return tmpl.write(os.Stdout, volumeHeaders, rows)
		},
	}
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter: name=, label=, dangling=, driver= (repeatable)")
	cmd.Flags().StringVar(&format, "format", "", "Format with a Go template, or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Print only names")
	return cmd
}

func volumeInspectCommand(cl *client) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:               "inspect [OPTIONS] VOLUME...",
		Short:             "Show volumes as JSON",
		Args:              minArgs(1),
		ValidArgsFunction: completeVolumes(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectAll(cl, "InspectVolume", format, args)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format each volume with a Go template")
	return cmd
}

func volumeRmCommand(cl *client) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:               "rm [OPTIONS] VOLUME...",
		Aliases:           []string{"remove"},
		Short:             "Remove volumes (refused while a container uses one, unless -f and none of them runs)",
		Args:              minArgs(1),
		ValidArgsFunction: completeVolumes(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(cmd, args, func(name string) error {
				return cl.call("RemoveVolume", nil, name, map[string]dbus.Variant{"force": dbus.MakeVariant(force)})
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Remove also a volume that stopped containers use")
	return cmd
}

func volumePruneCommand(cl *client) *cobra.Command {
	var all, yes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove volumes no container uses (anonymous ones only, unless -a)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{"all": dbus.MakeVariant(all)}
			if len(filters) > 0 {
				o["filter"] = dbus.MakeVariant(filters)
			}
			var names []string
			var bytes uint64
			if err := cl.call("PruneVolumes", []any{&names, &bytes}, o); err != nil {
				return err
			}
			if len(names) > 0 {
				fmt.Println("Deleted Volumes:")
				for _, n := range names {
					fmt.Println(n)
				}
				fmt.Println()
			}
			fmt.Printf("Total reclaimed space: %s\n", units.HumanSize(float64(bytes)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove named volumes too, not only anonymous ones")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "Filter: label=, label!= (repeatable)")
	cmd.Flags().BoolVarP(&yes, "force", "f", false, "Do not ask (berthctl never asks)")
	return cmd
}
