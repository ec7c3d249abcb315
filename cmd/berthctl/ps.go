package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/distribution/reference"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

type psFlags struct {
	all, quiet, latest, noTrunc, size bool
	last                              int
	format                            string
	filters                           []string
}

func psCommand(cl *client) *cobra.Command {
	var f psFlags
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Long: "List containers, newest first.\n\n" +
			"--format takes a Go template with docker's fields (.ID .Names .Image .Command .CreatedAt .RunningFor " +
			".State .Status .Ports .Networks .Size .Unit .ExitCode) and functions (json, upper, lower, title, join, split, truncate, pad); " +
			"a \"table\" prefix prints aligned columns with a header. --format json prints a JSON array.\n\n" +
			"--filter (repeatable; the same key repeated matches any of its values, different keys must all match): " +
			"id=REGEXP, name=REGEXP, status=created|running|paused|restarting|removing|exited|dead (implies -a), " +
			"ancestor=IMAGE, exited=CODE, label=KEY or label=KEY=VALUE, volume=NAME|HOST-PATH|TARGET, network=NAME, " +
			"publish=PORT[/PROTO] or START-END[/PROTO] (a container port published on the host), expose=… (a container port exposed or published).\n\n" +
			"-s/--size: berth does not measure a container's writable layer yet; SIZE shows N/A.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return ps(cl, &f) },
	}
	fs := cmd.Flags()
	fs.BoolVarP(&f.all, "all", "a", false, "Show all containers, not only running ones")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "Print ids only")
	fs.StringVar(&f.format, "format", "", "table (default), json, or a Go template (\"table ...\" for columns)")
	fs.StringArrayVarP(&f.filters, "filter", "f", nil, "Filter on KEY=VALUE (id, name, status, ancestor, exited, label, volume, network, publish, expose; repeatable)")
	fs.IntVarP(&f.last, "last", "n", 0, "Show the N most recently created containers, in any state")
	fs.BoolVarP(&f.latest, "latest", "l", false, "Show the most recently created container, in any state")
	fs.BoolVar(&f.noTrunc, "no-trunc", false, "Do not truncate ids and commands")
	fs.BoolVarP(&f.size, "size", "s", false, "Add a SIZE column (N/A: berth does not measure it yet)")
	return cmd
}

const psDefaultTable = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}`

var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Unit": "UNIT",
	"ExitCode": "EXIT CODE", "Labels": "LABELS", "Ports": "PORTS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
}

func ps(cl *client, f *psFlags) error {
	filt, err := parseFilters(f.filters)
	if err != nil {
		return usagef("%w", err)
	}
	format := f.format
	var tmpl *formatTemplate
	switch format {
	case "", "table":
		format = psDefaultTable
		if f.size {
			format += `\t{{.Size}}`
		}
	}
	if format != "json" && !f.quiet {
		if tmpl, err = parseTemplate(format); err != nil {
			return usagef("--format: %w", err)
		}
	}
	limit := -1
	if f.last > 0 {
		limit = f.last
	}
	if f.latest {
		limit = 1
	}
	// As docker: -n, -l and a status filter look at every container.
	list, err := cl.list(f.all || limit >= 0 || len(filt["status"]) > 0)
	if err != nil {
		return err
	}
	slices.SortStableFunc(list, func(a, b entry) int { return -cmpUint(a.CreatedAt, b.CreatedAt) })
	var rows []psRow
	for _, e := range list {
		if limit >= 0 && len(rows) >= limit {
			break
		}
		if filt.match(e) {
			rows = append(rows, psRow{e: e, noTrunc: f.noTrunc})
		}
	}
	switch {
	case f.quiet:
		for _, r := range rows {
			fmt.Println(r.ID())
		}
	case format == "json":
		out := []map[string]any{}
		for _, r := range rows {
			out = append(out, r.jsonArray())
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
	default:
		anys := make([]any, len(rows))
		for i := range rows {
			anys[i] = rows[i]
		}
		return tmpl.write(os.Stdout, psHeaders, anys)
	}
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// psRow is one container as ps templates see it: docker's fields, and
// berth's Unit and ExitCode.
type psRow struct {
	e       entry
	noTrunc bool
}

func (r psRow) ID() string {
	if r.noTrunc {
		return r.e.ID
	}
	return r.e.ID[:min(12, len(r.e.ID))]
}
func (r psRow) Names() string { return r.e.Name }
func (r psRow) Image() string { return r.e.Image }
func (r psRow) command() []string {
	var cmd []string
	json.Unmarshal([]byte(r.e.Command), &cmd)
	return cmd
}

// Command is quoted and cut at 20 characters unless --no-trunc, as
// docker's.
func (r psRow) Command() string {
	c := strings.Join(r.command(), " ")
	if !r.noTrunc && len([]rune(c)) > 20 {
		c = string([]rune(c)[:19]) + "…"
	}
	return strconv.Quote(c)
}
func (r psRow) CreatedAt() string {
	return time.UnixMicro(int64(r.e.CreatedAt)).Format("2006-01-02 15:04:05 -0700 MST")
}
func (r psRow) RunningFor() string { return human(ago(r.e.CreatedAt)) + " ago" }
func (r psRow) State() string      { return r.e.State }
func (r psRow) Status() string     { return status(r.e) }
func (r psRow) Size() string       { return "N/A" }
func (r psRow) Unit() string       { return "berth-" + r.e.ID + ".scope" }
func (r psRow) ExitCode() int32    { return r.e.ExitCode }
func (r psRow) Labels() string {
	var l []string
	for k, v := range r.e.Labels {
		l = append(l, k+"="+v)
	}
	slices.Sort(l)
	return strings.Join(l, ",")
}

// Ports is docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp".
func (r psRow) Ports() string { return contract.PortsColumn(r.e.Ports) }

// Mounts lists volume names and bind sources, as docker's .Mounts.
func (r psRow) Mounts() string {
	var m []string
	for _, e := range r.e.Mounts {
		if e.Name != "tmpfs" {
			m = append(m, e.Name)
		}
	}
	return strings.Join(m, ",")
}

// Networks names the networks the container is configured for, as
// docker's .Networks.
func (r psRow) Networks() string { return strings.Join(r.e.Networks, ",") }

// MarshalJSON gives {{json .}} docker's shape: every field by name.
func (r psRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ID": r.ID(), "Names": r.Names(), "Image": r.Image(), "Command": r.Command(), "CreatedAt": r.CreatedAt(),
		"RunningFor": r.RunningFor(), "State": r.State(), "Status": r.Status(), "Size": r.Size(), "Unit": r.Unit(),
		"ExitCode": r.ExitCode(), "Labels": r.Labels(), "Ports": r.Ports(), "Mounts": r.Mounts(), "Networks": r.Networks(),
	})
}

// jsonArray is a row of --format json, berth's own array form.
func (r psRow) jsonArray() map[string]any {
	return map[string]any{
		"ID": r.e.ID, "Name": r.e.Name, "Image": r.e.Image, "State": r.e.State, "Status": r.Status(),
		"Unit": r.Unit(), "Command": r.command(), "ExitCode": r.e.ExitCode,
		"CreatedAt": time.UnixMicro(int64(r.e.CreatedAt)).UTC(),
	}
}

func ago(us uint64) time.Duration {
	return time.Since(time.UnixMicro(int64(us))).Round(time.Second)
}

// human is docker's wording of an age ("2 minutes", "About an hour").
func human(d time.Duration) string { return units.HumanDuration(d) }

func status(e entry) string {
	switch e.State {
	case "running":
		return "Up " + human(ago(e.StartedAt)) + healthSuffix(e.Health)
	case "paused":
		return "Up " + human(ago(e.StartedAt)) + " (Paused)"
	case "exited":
		return fmt.Sprintf("Exited (%d) %s ago", e.ExitCode, human(ago(e.FinishedAt)))
	case "created":
		return "Created"
	case "restarting":
		// As docker: the exit code of the attempt that ended.
		return fmt.Sprintf("Restarting (%d) %s ago", e.ExitCode, human(ago(e.FinishedAt)))
	case "":
		return ""
	}
	return strings.ToUpper(e.State[:1]) + e.State[1:]
}

// healthSuffix is docker's health part of a running container's status:
// " (healthy)", " (unhealthy)", " (health: starting)", or nothing.
func healthSuffix(status string) string {
	switch status {
	case "":
		return ""
	case "starting":
		return " (health: starting)"
	}
	return " (" + status + ")"
}

// filters are ps --filter's: values by key.
type filters map[string][]string

// states are docker's container states, the values of status=.
var states = []string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}

// healths are docker's health statuses, the values of health=.
var healths = []string{"none", "starting", "healthy", "unhealthy"}

// parseFilters reads KEY=VALUE filters, refusing unknown keys and bad
// values up front.
func parseFilters(args []string) (filters, error) {
	f := filters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE", a)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "id", "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("--filter %q: %w", a, err)
			}
		case "status":
			if !slices.Contains(states, v) {
				return nil, fmt.Errorf("--filter %q: invalid status (want one of %s)", a, strings.Join(states, ", "))
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("--filter %q: want an exit code", a)
			}
		case "ancestor", "volume", "network":
		case "health":
			if !slices.Contains(healths, v) {
				return nil, fmt.Errorf("--filter %q: invalid health (want one of %s)", a, strings.Join(healths, ", "))
			}
		case "publish", "expose":
			if _, _, _, err := portFilter(v); err != nil {
				return nil, fmt.Errorf("--filter %q: %w", a, err)
			}
		case "label":
			if k, _, _ := strings.Cut(v, "="); k == "" {
				return nil, fmt.Errorf("--filter %q: want label=KEY or label=KEY=VALUE", a)
			}
		default:
			return nil, fmt.Errorf("--filter %q: unknown filter (berth knows id, name, status, ancestor, exited, label, volume, network, publish, expose, health)", a)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func all(vs []string, f func(string) bool) bool {
	for _, v := range vs {
		if !f(v) {
			return false
		}
	}
	return true
}

// match reports whether a container passes every key; a key matches if
// any of its values does, as docker's.
func (f filters) match(e entry) bool {
	for k, vs := range f {
		one := func(v string) bool { return matchOne(k, v, e) }
		if k == "label" {
			// docker's: every label= filter must match.
			if !all(vs, one) {
				return false
			}
			continue
		}
		if !slices.ContainsFunc(vs, one) {
			return false
		}
	}
	return true
}

func matchOne(key, value string, e entry) bool {
	switch key {
	case "id":
		return value == e.ID || regexp.MustCompile(value).MatchString(e.ID)
	case "name":
		// docker's names start with "/", so "^/web$" must match too.
		re := regexp.MustCompile(value)
		return value == e.Name || re.MatchString(e.Name) || re.MatchString("/"+e.Name)
	case "status":
		return e.State == value
	case "exited":
		code, _ := strconv.Atoi(value)
		return e.State == "exited" && int(e.ExitCode) == code
	case "ancestor":
		return sameImage(value, e.Image)
	case "volume":
		// docker's: a volume's name (or a bind's host path) or a mount's
		// target.
		return slices.ContainsFunc(e.Mounts, func(m contract.MountEntry) bool { return m.Name == value || m.Destination == value })
	case "network":
		return slices.Contains(e.Networks, value)
	case "health":
		// docker's: none is a container without a healthcheck.
		return e.Health == value || value == "none" && e.Health == ""
	case "publish", "expose":
		// docker's: a container port (of a published binding for
		// publish) in the port or range, of the protocol (tcp unless
		// given).
		lo, hi, proto, _ := portFilter(value)
		return slices.ContainsFunc(e.Ports, func(p contract.PortEntry) bool {
			return (key == "expose" || p.PublicPort != 0) && p.Type == proto && int(p.PrivatePort) >= lo && int(p.PrivatePort) <= hi
		})
	case "label":
		// docker's: label=KEY has the label, label=KEY=VALUE with that value.
		k, v, withValue := strings.Cut(value, "=")
		have, ok := e.Labels[k]
		return ok && (!withValue || have == v)
	}
	return false
}

// portFilter reads a publish or expose filter value: PORT[/PROTO] or
// START-END[/PROTO], tcp unless given.
func portFilter(v string) (lo, hi int, proto string, err error) {
	proto, ports := nat.SplitProtoPort(v)
	if proto != "tcp" && proto != "udp" {
		return 0, 0, "", fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	if lo, hi, err = nat.ParsePortRangeToInt(ports); err != nil || lo == 0 {
		return 0, 0, "", fmt.Errorf("want PORT[/PROTO] or START-END[/PROTO]")
	}
	return lo, hi, proto, nil
}

// sameImage compares image references after docker's normalisation
// (busybox is docker.io/library/busybox:latest).
func sameImage(a, b string) bool {
	if a == b {
		return true
	}
	norm := func(s string) string {
		n, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			return s
		}
		return reference.TagNameOnly(n).String()
	}
	return norm(a) == norm(b)
}
