package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
)

type networkEntry = contract.NetworkEntry

// networkCommands are "network create|ls|inspect|rm|prune|connect|disconnect".
func networkCommands(cl *client) []*cobra.Command {
	nw := groupCommand("network COMMAND", "Manage networks")
	nw.AddCommand(networkCreateCommand(cl), networkLsCommand(cl), networkInspectCommand(cl), networkRmCommand(cl),
		networkPruneCommand(cl), networkConnectCommand(cl), networkDisconnectCommand(cl))
	return []*cobra.Command{nw}
}

func networkCreateCommand(cl *client) *cobra.Command {
	var labels, opts []string
	var driver, subnet, gateway, ipRange string
	var internal bool
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a bridge network",
		Long: "Create a bridge network; prints its id. Containers on it resolve each other by name, short id and " +
			"--network-alias. Without --subnet it takes a free one of docker's default pools (172.17-31.0.0/16, " +
			"then /20s of 192.168.0.0/16); without --gateway, the subnet's first address.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{"name": dbus.MakeVariant(args[0]), "internal": dbus.MakeVariant(internal)}
			for k, v := range map[string]string{"driver": driver, "subnet": subnet, "gateway": gateway, "ip_range": ipRange} {
				if v != "" {
					o[k] = dbus.MakeVariant(v)
				}
			}
			if len(labels) > 0 {
				m, err := labelMap(labels)
				if err != nil {
					return err
				}
				o["labels"] = dbus.MakeVariant(m)
			}
			if len(opts) > 0 {
				m := map[string]string{}
				for _, kv := range opts {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return usagef("--opt %q: want KEY=VALUE", kv)
					}
					m[k] = v
				}
				o["options"] = dbus.MakeVariant(m)
			}
			var id string
			var path dbus.ObjectPath
			if err := cl.call("CreateNetwork", []any{&id, &path}, o); err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&driver, "driver", "d", "bridge", "Network driver (only bridge)")
	fs.StringVar(&subnet, "subnet", "", "Subnet in CIDR form, e.g. 10.10.0.0/24")
	fs.StringVar(&gateway, "gateway", "", "Gateway (the bridge's address) in the subnet")
	fs.StringVar(&ipRange, "ip-range", "", "Allocate container addresses from a sub-range of the subnet (CIDR)")
	fs.BoolVar(&internal, "internal", false, "No route out of the network (no masquerade)")
	fs.StringArrayVar(&labels, "label", nil, "Set a label KEY=VALUE (repeatable)")
	fs.StringArrayVarP(&opts, "opt", "o", nil, "Set a driver option KEY=VALUE (repeatable)")
	return cmd
}

// networkRow is one network as ls templates see it.
type networkRow struct {
	e       networkEntry
	noTrunc bool
}

func (r networkRow) ID() string {
	if r.noTrunc {
		return r.e.ID
	}
	return r.e.ID[:min(12, len(r.e.ID))]
}
func (r networkRow) Name() string     { return r.e.Name }
func (r networkRow) Driver() string   { return r.e.Driver }
func (r networkRow) Scope() string    { return "local" }
func (r networkRow) IPv6() string     { return "false" }
func (r networkRow) Internal() string { return strconv.FormatBool(r.e.Internal) }
func (r networkRow) CreatedAt() string {
	return time.UnixMicro(int64(r.e.Created)).Format("2006-01-02 15:04:05.999999999 -0700 MST")
}
func (r networkRow) Subnet() string    { return r.e.Subnet }
func (r networkRow) Gateway() string   { return r.e.Gateway }
func (r networkRow) Interface() string { return r.e.Interface }
func (r networkRow) Labels() string {
	var kv []string
	for k, v := range r.e.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Label returns the value of one label, as docker's template function.
func (r networkRow) Label(name string) string { return r.e.Labels[name] }

// MarshalJSON gives {{json .}} docker's shape: every field by name.
func (r networkRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(), "IPv6": r.IPv6(),
		"Internal": r.Internal(), "CreatedAt": r.CreatedAt(), "Labels": r.Labels(),
		"Subnet": r.Subnet(), "Gateway": r.Gateway(), "Interface": r.Interface(),
	})
}

var networkHeaders = map[string]string{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
	"IPv6": "IPV6", "Internal": "INTERNAL", "CreatedAt": "CREATED AT", "Labels": "LABELS", "Subnet": "SUBNET",
	"Gateway": "GATEWAY", "Interface": "INTERFACE"}

func networkLsCommand(cl *client) *cobra.Command {
	var filters []string
	var format string
	var quiet, noTrunc bool
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Long: "List networks by name.\n\n-f/--filter (repeatable; the same key repeated matches any of its values, " +
			"different keys must all match): name=SUBSTRING, id=PREFIX, driver=bridge|host|null, scope=local, " +
			"type=builtin|custom, label=KEY[=VALUE], dangling=true|false (a user-defined network no container is attached to).\n\n" +
			"--format takes a Go template (.ID .Name .Driver .Scope .IPv6 .Internal .CreatedAt .Labels .Label, and berth's " +
			".Subnet .Gateway .Interface); a \"table\" prefix prints aligned columns with a header; --format json prints " +
			"one JSON object per line.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{}
			if len(filters) > 0 {
				o["filter"] = dbus.MakeVariant(filters)
			}
			var list []networkEntry
			if err := cl.call("ListNetworks", []any{&list}, o); err != nil {
				return err
			}
			rows := make([]any, len(list))
			for i, e := range list {
				rows[i] = networkRow{e: e, noTrunc: noTrunc}
			}
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Println(r.(networkRow).ID())
				}
				return nil
			case format == "json":
				for _, r := range rows {
					b, _ := json.Marshal(r)
					fmt.Println(string(b))
				}
				return nil
			case format == "" || format == "table":
				format = `table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}`
			}
			tmpl, err := parseTemplate(format)
			if err != nil {
				return usagef("--format: %w", err)
			}
			return tmpl.write(os.Stdout, networkHeaders, rows)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&filters, "filter", "f", nil, "Filter: name=, id=, driver=, scope=, type=, label=, dangling= (repeatable)")
	fs.StringVar(&format, "format", "", "table (default), json, or a Go template (\"table ...\" for columns)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "Print only ids")
	fs.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate ids")
	return cmd
}

func networkInspectCommand(cl *client) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:               "inspect [OPTIONS] NETWORK...",
		Short:             "Show networks as JSON (docker's network inspect)",
		Args:              minArgs(1),
		ValidArgsFunction: completeNetworks(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectAll(cl, "InspectNetwork", format, args)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format each network with a Go template")
	return cmd
}

func networkRmCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:               "rm NETWORK...",
		Aliases:           []string{"remove"},
		Short:             "Remove networks (refused while a container is attached)",
		Args:              minArgs(1),
		ValidArgsFunction: completeNetworks(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(cmd, args, func(ref string) error {
				return cl.call("RemoveNetwork", nil, ref, noOpts())
			})
		},
	}
}

func networkPruneCommand(cl *client) *cobra.Command {
	var yes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove the user-defined networks no container is attached to",
		Long: "Remove the user-defined networks no container is attached to.\n\n--filter (repeatable): " +
			"until=TIME (created before: a duration such as 24h, an RFC 3339 time, a date or Unix seconds), " +
			"label=KEY[=VALUE], label!=KEY[=VALUE].",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{}
			if len(filters) > 0 {
				o["filter"] = dbus.MakeVariant(filters)
			}
			var names []string
			if err := cl.call("PruneNetworks", []any{&names}, o); err != nil {
				return err
			}
			if len(names) > 0 {
				fmt.Println("Deleted Networks:")
				for _, n := range names {
					fmt.Println(n)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "Filter: until=, label=, label!= (repeatable)")
	cmd.Flags().BoolVarP(&yes, "force", "f", false, "Do not ask (berthctl never asks)")
	return cmd
}

func networkConnectCommand(cl *client) *cobra.Command {
	var aliases []string
	var ip string
	cmd := &cobra.Command{
		Use:               "connect [OPTIONS] NETWORK CONTAINER",
		Short:             "Connect a container to a network (at once if it runs)",
		Args:              exactArgs(2),
		ValidArgsFunction: completeNetworkThenContainer(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := map[string]dbus.Variant{}
			if len(aliases) > 0 {
				o["aliases"] = dbus.MakeVariant(aliases)
			}
			if ip != "" {
				o["ip"] = dbus.MakeVariant(ip)
			}
			return cl.call("ConnectNetwork", nil, args[1], args[0], o)
		},
	}
	cmd.Flags().StringArrayVar(&aliases, "alias", nil, "Add a name for the container on the network (repeatable)")
	cmd.Flags().StringVar(&ip, "ip", "", "IPv4 address of the container on the network")
	return cmd
}

func networkDisconnectCommand(cl *client) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:               "disconnect [OPTIONS] NETWORK CONTAINER",
		Short:             "Disconnect a container from a network (at once if it runs)",
		Args:              exactArgs(2),
		ValidArgsFunction: completeNetworkThenContainer(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cl.call("DisconnectNetwork", nil, args[1], args[0], map[string]dbus.Variant{"force": dbus.MakeVariant(force)})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the disconnect (accepted as docker's; never needed)")
	return cmd
}

// portCommand is "port CONTAINER [PRIVATE_PORT[/PROTO]]", from inspect's
// NetworkSettings.Ports.
func portCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List a container's published ports, or where one port is published",
		Long: "List a running container's published ports as \"80/tcp -> 0.0.0.0:8080\", or with PRIVATE_PORT " +
			"(tcp unless /udp) only the host addresses it is published on.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%q requires 1 or 2 arguments", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: completeContainers(cl, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s string
			if err := cl.call("InspectContainer", []any{&s}, args[0]); err != nil {
				return err
			}
			var v struct {
				Name            string
				NetworkSettings struct {
					Ports map[string][]struct{ HostIp, HostPort string }
				}
			}
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return err
			}
			lines, err := portLines(v.NetworkSettings.Ports, args[1:])
			if err != nil {
				return fmt.Errorf("%w for %s", err, strings.TrimPrefix(v.Name, "/"))
			}
			for _, l := range lines {
				fmt.Println(l)
			}
			return nil
		},
	}
}

// portLines are port's output lines for the ports of inspect: every
// binding as "80/tcp -> 0.0.0.0:8080" by port, or for a port asked only
// its host addresses.
func portLines(ports map[string][]struct{ HostIp, HostPort string }, want []string) ([]string, error) {
	key := func(p string) (int, string) {
		n, proto, _ := strings.Cut(p, "/")
		i, _ := strconv.Atoi(n)
		return i, proto
	}
	if len(want) == 1 {
		p := want[0]
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		if n, proto := key(p); n <= 0 || n > 65535 || (proto != "tcp" && proto != "udp") {
			return nil, usagef("port %q: want PORT[/tcp|/udp]", want[0])
		}
		var out []string
		for _, b := range ports[p] {
			out = append(out, hostAddr(b.HostIp, b.HostPort))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no public port '%s' published", p)
		}
		return out, nil
	}
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		na, pa := key(a)
		nb, pb := key(b)
		if na != nb {
			return na - nb
		}
		return strings.Compare(pa, pb)
	})
	var out []string
	for _, k := range keys {
		for _, b := range ports[k] {
			out = append(out, k+" -> "+hostAddr(b.HostIp, b.HostPort))
		}
	}
	return out, nil
}

// hostAddr is ip:port ("0.0.0.0" for every address).
func hostAddr(ip, port string) string {
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, port)
}
