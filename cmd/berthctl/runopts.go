package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/pflag"
)

// runFlags are docker's everyday run options beyond the process: they
// become CreateContainer's HostConfig-style options. berthctl parses
// their syntax; berthd checks their values.
type runFlags struct {
	entrypoint, shmSize, pid, ipc                                   string
	labels, labelFiles, capAdd, capDrop, devices, ulimits, addHosts []string
	dns, dnsSearch, dnsOptions, groupAdd, sysctls, securityOpts     []string
	networks, aliases, publish, expose                              []string
	ip                                                              string
	readOnly, privileged, init, publishAll                          bool
	oomScoreAdj                                                     int
	fs                                                              *pflag.FlagSet
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the image's entrypoint ('' clears it)")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "Set a label KEY=value (repeatable)")
	fs.StringArrayVar(&f.labelFiles, "label-file", nil, "Read labels from a file of KEY=value lines (repeatable)")
	fs.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root file system read-only")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "Add a Linux capability (or ALL)")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop a Linux capability (or ALL)")
	fs.BoolVar(&f.privileged, "privileged", false, "Give the container all capabilities and the host's devices, without seccomp or masked paths")
	fs.StringArrayVar(&f.devices, "device", nil, "Add a host device: HOST[:CONTAINER[:rwm]]")
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "Set a ulimit NAME=SOFT[:HARD] (e.g. nofile=1024:2048)")
	fs.BoolVar(&f.init, "init", false, "Run an init (tini) as PID 1 that forwards signals and reaps zombies")
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm (e.g. 128m; default 64m)")
	fs.StringArrayVar(&f.addHosts, "add-host", nil, "Add a line to /etc/hosts: NAME:IP")
	fs.StringArrayVar(&f.dns, "dns", nil, "Set a DNS server for /etc/resolv.conf")
	fs.StringArrayVar(&f.dnsSearch, "dns-search", nil, "Set a DNS search domain")
	fs.StringArrayVar(&f.dnsOptions, "dns-option", nil, "Set a DNS option (e.g. ndots:2)")
	fs.StringArrayVar(&f.groupAdd, "group-add", nil, "Add a supplementary group (name or id)")
	fs.StringArrayVar(&f.sysctls, "sysctl", nil, "Set a namespaced sysctl NAME=VALUE")
	fs.StringArrayVar(&f.securityOpts, "security-opt", nil, "Security option: no-new-privileges, seccomp=unconfined|FILE, apparmor=PROFILE")
	fs.StringVar(&f.pid, "pid", "", "PID namespace: host or container:NAME (another running container's)")
	fs.StringVar(&f.ipc, "ipc", "", "IPC namespace: private, shareable, host, none or container:NAME (a shareable one's)")
	fs.IntVar(&f.oomScoreAdj, "oom-score-adj", 0, "Tune the OOM killer's preference (-1000 to 1000)")
	fs.StringArrayVar(&f.networks, "network", nil, "Connect to a network: bridge (the default), a network's name, none, host or container:NAME (repeatable for networks)")
	fs.StringArrayVar(&f.aliases, "network-alias", nil, "Add a name for the container on its (user-defined) network")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address on the container's (user-defined) network")
	fs.StringArrayVarP(&f.publish, "publish", "p", nil, "Publish a container's port: [IP:][HOSTPORT:]CTRPORT[/PROTO], ports or ranges")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "Publish every exposed port on a random host port")
	fs.StringArrayVar(&f.expose, "expose", nil, "Expose a port or a range (PORT[/PROTO]) without publishing it")
}

// addOptions puts the flags that were given into o, refusing what is
// malformed here, before anything is created.
func (f *runFlags) addOptions(o map[string]dbus.Variant) error {
	changed := func(name string) bool { return f.fs != nil && f.fs.Changed(name) }
	if f.entrypoint != "" {
		o["entrypoint"] = dbus.MakeVariant([]string{f.entrypoint})
	} else if changed("entrypoint") {
		o["entrypoint"] = dbus.MakeVariant([]string{""}) // docker's "no entrypoint"
	}
	labels, err := containerLabels(f.labels, f.labelFiles)
	if err != nil {
		return err
	}
	if len(labels) > 0 {
		o["labels"] = dbus.MakeVariant(labels)
	}
	if len(f.networks) > 0 {
		putString(o, "network", f.networks[0])
		putStrings(o, "networks", f.networks[1:])
	}
	putStrings(o, "network_aliases", f.aliases)
	putString(o, "ip", f.ip)
	putStrings(o, "publish", f.publish)
	putTrue(o, "publish_all", f.publishAll)
	putStrings(o, "expose", f.expose)
	putStrings(o, "cap_add", f.capAdd)
	putStrings(o, "cap_drop", f.capDrop)
	putStrings(o, "extra_hosts", f.addHosts)
	putStrings(o, "dns", f.dns)
	putStrings(o, "dns_search", f.dnsSearch)
	putStrings(o, "dns_options", f.dnsOptions)
	putStrings(o, "group_add", f.groupAdd)
	putTrue(o, "readonly_rootfs", f.readOnly)
	putTrue(o, "privileged", f.privileged)
	putTrue(o, "init", f.init)
	putString(o, "pid_mode", f.pid)
	putString(o, "ipc_mode", f.ipc)
	if changed("oom-score-adj") {
		o["oom_score_adj"] = dbus.MakeVariant(int64(f.oomScoreAdj))
	}
	if f.shmSize != "" {
		n, err := units.RAMInBytes(f.shmSize)
		if err != nil || n <= 0 {
			return fmt.Errorf("--shm-size %q: want a size such as 64m", f.shmSize)
		}
		o["shm_size"] = dbus.MakeVariant(uint64(n))
	}
	if len(f.devices) > 0 {
		var rows []deviceRow
		for _, d := range f.devices {
			host, ctr, perms, err := parseDevice(d)
			if err != nil {
				return err
			}
			rows = append(rows, deviceRow{host, ctr, perms})
		}
		o["devices"] = dbus.MakeVariant(rows)
	}
	if len(f.ulimits) > 0 {
		var rows []ulimitRow
		for _, u := range f.ulimits {
			ul, err := units.ParseUlimit(u)
			if err != nil {
				return fmt.Errorf("--ulimit %q: %w", u, err)
			}
			rows = append(rows, ulimitRow{ul.Name, ul.Soft, ul.Hard})
		}
		o["ulimits"] = dbus.MakeVariant(rows)
	}
	if len(f.sysctls) > 0 {
		m := map[string]string{}
		for _, s := range f.sysctls {
			k, v, ok := strings.Cut(s, "=")
			if !ok || k == "" {
				return fmt.Errorf("--sysctl %q: want NAME=VALUE", s)
			}
			m[k] = v
		}
		o["sysctls"] = dbus.MakeVariant(m)
	}
	if len(f.securityOpts) > 0 {
		opts, err := securityOpts(f.securityOpts)
		if err != nil {
			return err
		}
		o["security_opt"] = dbus.MakeVariant(opts)
	}
	return nil
}

// deviceRow and ulimitRow are the wire forms of devices (sss) and
// ulimits (sxx).
type deviceRow struct{ Host, Container, Permissions string }
type ulimitRow struct {
	Name       string
	Soft, Hard int64
}

// parseDevice reads docker's --device HOST[:CONTAINER[:PERMISSIONS]];
// a second field of rwm letters alone is the permissions.
func parseDevice(v string) (host, ctr, perms string, err error) {
	mode := func(s string) bool { return s != "" && strings.Trim(s, "rwm") == "" }
	parts := strings.Split(v, ":")
	switch len(parts) {
	case 1:
		host = parts[0]
	case 2:
		host = parts[0]
		if mode(parts[1]) {
			perms = parts[1]
		} else {
			ctr = parts[1]
		}
	case 3:
		host, ctr, perms = parts[0], parts[1], parts[2]
		if !mode(perms) {
			return "", "", "", fmt.Errorf("--device %q: permissions %q: want letters of rwm", v, perms)
		}
	default:
		return "", "", "", fmt.Errorf("--device %q: want HOST[:CONTAINER[:rwm]]", v)
	}
	if host == "" {
		return "", "", "", fmt.Errorf("--device %q: no host path", v)
	}
	return host, ctr, perms, nil
}

// securityOpts reads docker's --security-opt; as docker's client,
// seccomp=FILE sends the file's contents (compacted JSON).
func securityOpts(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, opt := range in {
		k, v, ok := strings.Cut(opt, "=")
		if ok && k == "seccomp" && v != "unconfined" && v != "builtin" {
			b, err := readOptionFile("--security-opt seccomp", v)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil {
				return nil, fmt.Errorf("--security-opt seccomp=%s: not JSON: %w", v, err)
			}
			opt = "seccomp=" + buf.String()
		}
		out = append(out, opt)
	}
	return out, nil
}

// containerLabels builds the labels as docker does: the label files
// first, then -l, so -l wins; "KEY" alone is KEY with an empty value.
func containerLabels(labels, files []string) (map[string]string, error) {
	var entries []string
	for _, path := range files {
		e, err := readLabelFile(path)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e...)
	}
	return labelMap(append(entries, labels...))
}

// readLabelFile reads docker's label file: KEY=value or KEY lines,
// leading white space ignored, # comments and blank lines skipped.
func readLabelFile(path string) ([]string, error) {
	b, err := readOptionFile("--label-file", path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := lineScanner(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "=") {
			return nil, fmt.Errorf("--label-file %s:%d: the name is empty", path, n)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--label-file %s: %w", path, err)
	}
	return out, nil
}

// putString, putStrings and putTrue set option k only when its flag gave
// a value, so that berthd's defaults (and the image's) apply otherwise.
func putString(o map[string]dbus.Variant, k, v string) {
	if v != "" {
		o[k] = dbus.MakeVariant(v)
	}
}

func putStrings(o map[string]dbus.Variant, k string, v []string) {
	if len(v) > 0 {
		o[k] = dbus.MakeVariant(v)
	}
}

func putTrue(o map[string]dbus.Variant, k string, b bool) {
	if b {
		o[k] = dbus.MakeVariant(true)
	}
}
