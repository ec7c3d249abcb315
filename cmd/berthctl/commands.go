package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"golang.org/x/term"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// parse parses flags docker-style: combined short booleans (-it) are split,
// and parsing stops at the first argument that is not a flag.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var expanded []string
	for i, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") || len(a) <= 2 {
			if a == "--" || !strings.HasPrefix(a, "-") {
				expanded = append(expanded, args[i:]...)
				break
			}
			expanded = append(expanded, a)
			continue
		}
		split := true
		for _, ch := range a[1:] {
			f := fs.Lookup(string(ch))
			if f == nil {
				split = false
				break
			}
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				split = false
				break
			}
		}
		if split {
			for _, ch := range a[1:] {
				expanded = append(expanded, "-"+string(ch))
			}
		} else {
			expanded = append(expanded, a)
		}
	}
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(expanded); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func newFlags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: berthctl %s %s\n\nOptions:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

type createFlags struct {
	name, rootfs, workdir, user, hostname, network, runtime, memory, stopSignal string
	env                                                                         multi
	interactive, tty, rm, noNewPrivs                                            bool
	cpus                                                                        float64
	cpuShares, pidsLimit                                                        uint64
	stopTimeout                                                                 int
}

func (f *createFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "container name")
	fs.StringVar(&f.rootfs, "rootfs", "", "root file system directory")
	fs.Var(&f.env, "e", "set an environment variable K=V (repeatable)")
	fs.Var(&f.env, "env", "same as -e")
	fs.StringVar(&f.workdir, "w", "", "working directory inside the container")
	fs.StringVar(&f.user, "u", "", "user[:group] to run as")
	fs.StringVar(&f.hostname, "hostname", "", "container host name")
	fs.StringVar(&f.network, "network", "", "network: none or host")
	fs.StringVar(&f.runtime, "runtime", "", "OCI runtime name from the configuration")
	fs.StringVar(&f.memory, "memory", "", "memory limit (MemoryMax=), e.g. 64m, 1g")
	fs.Float64Var(&f.cpus, "cpus", 0, "CPU limit in CPUs (CPUQuota=)")
	fs.Uint64Var(&f.cpuShares, "cpu-shares", 0, "relative CPU weight, docker scale (CPUWeight=)")
	fs.Uint64Var(&f.pidsLimit, "pids-limit", 0, "task limit (TasksMax=)")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "signal that stops the container (default SIGTERM)")
	fs.IntVar(&f.stopTimeout, "stop-timeout", -1, "seconds between the stop signal and SIGKILL (default 10)")
	fs.BoolVar(&f.interactive, "i", false, "keep standard input open")
	fs.BoolVar(&f.tty, "t", false, "allocate a pseudo-terminal")
	fs.BoolVar(&f.rm, "rm", false, "remove the container when it exits")
	fs.BoolVar(&f.noNewPrivs, "no-new-privileges", false, "set no_new_privs for the container's processes")
}

// parseSize reads a size as docker does ("512m", "1g", "1.5GB"; binary
// units).
func parseSize(s string) (uint64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 512m)", s)
	}
	return uint64(n), nil
}

func (f *createFlags) options(cmd []string) (map[string]dbus.Variant, error) {
	o := map[string]dbus.Variant{}
	if f.rootfs == "" {
		// docker's form: IMAGE [COMMAND [ARG...]]
		if len(cmd) == 0 {
			return nil, fmt.Errorf("give an image (or --rootfs DIR) and optionally a command")
		}
		o["image"] = dbus.MakeVariant(cmd[0])
		cmd = cmd[1:]
	} else {
		if len(cmd) == 0 {
			return nil, fmt.Errorf("no command given")
		}
		o["rootfs"] = dbus.MakeVariant(f.rootfs)
	}
	if len(cmd) > 0 {
		o["cmd"] = dbus.MakeVariant(cmd)
	}
	set := func(k, v string) {
		if v != "" {
			o[k] = dbus.MakeVariant(v)
		}
	}
	set("name", f.name)
	set("workdir", f.workdir)
	set("user", f.user)
	set("hostname", f.hostname)
	set("network", f.network)
	set("runtime", f.runtime)
	set("stop_signal", f.stopSignal)
	if len(f.env) > 0 {
		o["env"] = dbus.MakeVariant([]string(f.env))
	}
	if f.tty {
		o["tty"] = dbus.MakeVariant(true)
	}
	if f.interactive {
		o["stdin"] = dbus.MakeVariant(true)
	}
	if f.rm {
		o["auto_remove"] = dbus.MakeVariant(true)
	}
	if f.noNewPrivs {
		o["no_new_privileges"] = dbus.MakeVariant(true)
	}
	if f.memory != "" {
		n, err := parseSize(f.memory)
		if err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
		o["memory"] = dbus.MakeVariant(n)
	}
	if f.cpus != 0 {
		o["cpus"] = dbus.MakeVariant(f.cpus)
	}
	if f.cpuShares != 0 {
		o["cpu_shares"] = dbus.MakeVariant(f.cpuShares)
	}
	if f.pidsLimit != 0 {
		o["pids_limit"] = dbus.MakeVariant(f.pidsLimit)
	}
	if f.stopTimeout >= 0 {
		o["stop_timeout"] = dbus.MakeVariant(int32(f.stopTimeout))
	}
	return o, nil
}

func create(c *client, f *createFlags, cmd []string) (string, error) {
	o, err := f.options(cmd)
	if err != nil {
		return "", err
	}
	var id string
	var path dbus.ObjectPath
	err = c.call("CreateContainer", []any{&id, &path}, o)
	if img, ok := o["image"]; ok && err != nil && strings.Contains(err.Error(), "no such image") {
		// As docker run does: pull a missing image, then create.
		ref := img.Value().(string)
		fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", ref)
		if _, perr := pull(c, ref, term.IsTerminal(int(os.Stderr.Fd()))); perr != nil {
			return "", perr
		}
		err = c.call("CreateContainer", []any{&id, &path}, o)
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

func noOpts() map[string]dbus.Variant { return map[string]dbus.Variant{} }

func cmdCreate(c *client, args []string) (int, error) {
	fs := newFlags("create", "[OPTIONS] IMAGE [COMMAND [ARG...]] | [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]")
	var f createFlags
	f.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	id, err := create(c, &f, rest)
	if err != nil {
		return 1, err
	}
	fmt.Println(id)
	return 0, nil
}

func cmdRun(c *client, args []string) (int, error) {
	fs := newFlags("run", "[OPTIONS] IMAGE [COMMAND [ARG...]] | [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]")
	var f createFlags
	f.register(fs)
	detach := fs.Bool("d", false, "run in the background and print the id")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	id, err := create(c, &f, rest)
	if err != nil {
		return 125, err
	}
	if *detach {
		if err := c.call("StartContainer", nil, id, noOpts()); err != nil {
			c.call("RemoveContainer", nil, id, map[string]dbus.Variant{"force": dbus.MakeVariant(true)})
			return 125, err
		}
		fmt.Println(id)
		return 0, nil
	}
	return startAttached(c, id, f.interactive, f.tty, true)
}

// startAttached starts a container whose payload waits for our attach, so
// no output is missed, and returns the container's exit code.
func startAttached(c *client, id string, stdin, tty, removeOnFail bool) (int, error) {
	if err := c.call("StartContainer", nil, id, map[string]dbus.Variant{"attach": dbus.MakeVariant(true)}); err != nil {
		if removeOnFail {
			c.call("RemoveContainer", nil, id, map[string]dbus.Variant{"force": dbus.MakeVariant(true)})
		}
		return 125, err
	}
	// WaitContainer keeps berthd from going idle while we run, and gives
	// the exit code if the stream ends without one.
	waited := make(chan int32, 1)
	go func() {
		// The same connection: godbus serves concurrent calls.
		code, err := c.wait(id)
		if err != nil {
			code = -1
		}
		waited <- code
	}()
	f, err := c.stream("AttachContainer", id, map[string]dbus.Variant{"stdin": dbus.MakeVariant(stdin)})
	if err != nil {
		return 125, err
	}
	code, err := pump(f, stdin, tty)
	if err != nil {
		return 125, err
	}
	if code < 0 {
		code = int(<-waited)
	}
	if code < 0 {
		return 125, fmt.Errorf("container %s: the exit code was lost", id[:12])
	}
	return code, nil
}

func cmdStart(c *client, args []string) (int, error) {
	fs := newFlags("start", "[-a] [-i] CONTAINER")
	attach := fs.Bool("a", false, "attach to the container's output and wait for it")
	interactive := fs.Bool("i", false, "attach standard input")
	rest, err := parse(fs, args)
	if err != nil || len(rest) != 1 {
		fs.Usage()
		return 2, nil
	}
	if *attach || *interactive {
		var path dbus.ObjectPath
		if err := c.call("GetContainer", []any{&path}, rest[0]); err != nil {
			return 1, err
		}
		id, err := c.property(path, contract.ContainerInterface, "Id")
		if err != nil {
			return 1, err
		}
		tty := false
		if v, err := c.inspect(rest[0]); err == nil {
			tty = v.Config.TTY
		}
		return startAttached(c, id.Value().(string), *interactive, tty, false)
	}
	if err := c.call("StartContainer", nil, rest[0], noOpts()); err != nil {
		return 1, err
	}
	fmt.Println(rest[0])
	return 0, nil
}

type inspectView struct {
	ID     string `json:"Id"`
	Config struct {
		TTY bool `json:"tty"`
	}
}

func (c *client) inspect(ref string) (*inspectView, error) {
	var s string
	if err := c.call("InspectContainer", []any{&s}, ref); err != nil {
		return nil, err
	}
	var v inspectView
	return &v, json.Unmarshal([]byte(s), &v)
}

// each runs f for every container named, reporting each failure, like
// docker does for stop, kill and rm.
func each(refs []string, f func(ref string) error) (int, error) {
	if len(refs) == 0 {
		return 2, fmt.Errorf("no container given")
	}
	code := 0
	for _, r := range refs {
		if err := f(r); err != nil {
			fmt.Fprintln(os.Stderr, "berthctl: "+r+": "+describe(err))
			code = 1
			continue
		}
		fmt.Println(r)
	}
	return code, nil
}

func timeoutOpts(t int) map[string]dbus.Variant {
	o := noOpts()
	if t >= 0 {
		o["timeout"] = dbus.MakeVariant(int32(t))
	}
	return o
}

func cmdStop(c *client, args []string) (int, error) {
	fs := newFlags("stop", "[-t SECONDS] CONTAINER...")
	t := fs.Int("t", -1, "seconds to wait before SIGKILL (default: the container's stop timeout)")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	return each(rest, func(r string) error { return c.call("StopContainer", nil, r, timeoutOpts(*t)) })
}

func cmdRestart(c *client, args []string) (int, error) {
	fs := newFlags("restart", "[-t SECONDS] CONTAINER...")
	t := fs.Int("t", -1, "seconds to wait before SIGKILL")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	return each(rest, func(r string) error { return c.call("RestartContainer", nil, r, timeoutOpts(*t)) })
}

func cmdKill(c *client, args []string) (int, error) {
	fs := newFlags("kill", "[-s SIGNAL] CONTAINER...")
	sig := fs.String("s", "KILL", "signal name or number")
	fs.StringVar(sig, "signal", "KILL", "same as -s")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	return each(rest, func(r string) error { return c.call("KillContainer", nil, r, *sig, noOpts()) })
}

func cmdPause(c *client, args []string) (int, error) {
	return each(args, func(r string) error { return c.call("PauseContainer", nil, r) })
}

func cmdUnpause(c *client, args []string) (int, error) {
	return each(args, func(r string) error { return c.call("UnpauseContainer", nil, r) })
}

func cmdRm(c *client, args []string) (int, error) {
	fs := newFlags("rm", "[-f] CONTAINER...")
	force := fs.Bool("f", false, "stop running containers with SIGKILL first")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	return each(rest, func(r string) error {
		return c.call("RemoveContainer", nil, r, map[string]dbus.Variant{"force": dbus.MakeVariant(*force)})
	})
}

func cmdWait(c *client, args []string) (int, error) {
	if len(args) == 0 {
		return 2, fmt.Errorf("no container given")
	}
	for _, r := range args {
		code, err := c.wait(r)
		if err != nil {
			return 1, err
		}
		fmt.Println(code)
	}
	return 0, nil
}

// wait calls WaitContainer again whenever the bus gives up on a long call
// (dbus-daemon bounds how long a reply may take).
func (c *client) wait(ref string) (int32, error) {
	for {
		var code int32
		err := c.call("WaitContainer", []any{&code}, ref)
		var de dbus.Error
		if errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.NoReply" || de.Name == "org.freedesktop.DBus.Error.Timeout") {
			continue
		}
		return code, err
	}
}

func cmdInspect(c *client, args []string) (int, error) {
	return inspectAll(c, "InspectContainer", "container", args)
}

// inspectAll prints the JSON of each ref as one array, as docker inspect.
func inspectAll(c *client, method, what string, refs []string) (int, error) {
	if len(refs) == 0 {
		return 2, fmt.Errorf("no %s given", what)
	}
	var all []json.RawMessage
	for _, r := range refs {
		var s string
		if err := c.call(method, []any{&s}, r); err != nil {
			return 1, err
		}
		all = append(all, json.RawMessage(s))
	}
	b, _ := json.MarshalIndent(all, "", "  ")
	fmt.Println(string(b))
	return 0, nil
}

func cmdExec(c *client, args []string) (int, error) {
	fs := newFlags("exec", "[-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]")
	interactive := fs.Bool("i", false, "keep standard input open")
	tty := fs.Bool("t", false, "allocate a pseudo-terminal")
	var env multi
	fs.Var(&env, "e", "environment variable K=V (repeatable)")
	workdir := fs.String("w", "", "working directory")
	user := fs.String("u", "", "user[:group]")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	if len(rest) < 2 {
		fs.Usage()
		return 2, nil
	}
	o := map[string]dbus.Variant{"tty": dbus.MakeVariant(*tty), "stdin": dbus.MakeVariant(*interactive)}
	if len(env) > 0 {
		o["env"] = dbus.MakeVariant([]string(env))
	}
	if *workdir != "" {
		o["workdir"] = dbus.MakeVariant(*workdir)
	}
	if *user != "" {
		o["user"] = dbus.MakeVariant(*user)
	}
	f, err := c.stream("ExecContainer", rest[0], rest[1:], o)
	if err != nil {
		return 126, err
	}
	code, err := pump(f, *interactive, *tty)
	if err != nil {
		return 126, err
	}
	if code < 0 {
		return 126, fmt.Errorf("the exec stream ended without an exit code")
	}
	return code, nil
}

func cmdAttach(c *client, args []string) (int, error) {
	fs := newFlags("attach", "[--no-stdin] CONTAINER")
	noStdin := fs.Bool("no-stdin", false, "do not attach standard input")
	rest, err := parse(fs, args)
	if err != nil || len(rest) != 1 {
		return 2, nil
	}
	v, err := c.inspect(rest[0])
	if err != nil {
		return 1, err
	}
	f, err := c.stream("AttachContainer", rest[0], map[string]dbus.Variant{"stdin": dbus.MakeVariant(!*noStdin)})
	if err != nil {
		return 1, err
	}
	code, err := pump(f, !*noStdin, v.Config.TTY)
	if code < 0 {
		code = 0
	}
	return code, err
}

func cmdLogs(c *client, args []string) (int, error) {
	fs := newFlags("logs", "[-f] [--tail N] CONTAINER")
	follow := fs.Bool("f", false, "follow new output")
	fs.BoolVar(follow, "follow", false, "same as -f")
	tail := fs.Int("tail", 0, "show only the last N lines")
	rest, err := parse(fs, args)
	if err != nil || len(rest) != 1 {
		fs.Usage()
		return 2, nil
	}
	f, err := c.stream("GetContainerLogs", rest[0], map[string]dbus.Variant{
		"follow": dbus.MakeVariant(*follow), "tail": dbus.MakeVariant(int32(*tail))})
	if err != nil {
		return 1, err
	}
	_, err = pump(f, false, true)
	return 0, err
}

func ago(us uint64) time.Duration {
	return time.Since(time.UnixMicro(int64(us))).Round(time.Second)
}

// human is docker's wording of an age ("2 minutes", "About an hour").
func human(d time.Duration) string { return units.HumanDuration(d) }

func status(e entry) string {
	switch e.State {
	case "running":
		return "Up " + human(ago(e.StartedAt))
	case "paused":
		return "Up " + human(ago(e.StartedAt)) + " (Paused)"
	case "exited":
		return fmt.Sprintf("Exited (%d) %s ago", e.ExitCode, human(ago(e.FinishedAt)))
	case "created":
		return "Created"
	}
	return strings.ToUpper(e.State[:1]) + e.State[1:]
}

func cmdPs(c *client, args []string) (int, error) {
	fs := newFlags("ps", "[-a] [--format table|json]")
	all := fs.Bool("a", false, "show all containers, not only running ones")
	fs.BoolVar(all, "all", false, "same as -a")
	format := fs.String("format", "table", "table or json")
	quiet := fs.Bool("q", false, "print ids only")
	if _, err := parse(fs, args); err != nil {
		return 2, nil
	}
	list, err := c.list(*all)
	if err != nil {
		return 1, err
	}
	switch {
	case *quiet:
		for _, e := range list {
			fmt.Println(e.ID[:12])
		}
	case *format == "json":
		type row struct {
			ID, Name, Image, State, Status, Unit string
			Command                              []string
			ExitCode                             int32
			CreatedAt                            time.Time
		}
		rows := []row{}
		for _, e := range list {
			var cmd []string
			json.Unmarshal([]byte(e.Command), &cmd)
			rows = append(rows, row{ID: e.ID, Name: e.Name, Image: e.Image, State: e.State, Status: status(e),
				Unit: "berth-" + e.ID + ".scope", Command: cmd, ExitCode: e.ExitCode, CreatedAt: time.UnixMicro(int64(e.CreatedAt)).UTC()})
		}
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Println(string(b))
	case *format == "table":
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER ID\tNAME\tIMAGE\tCOMMAND\tCREATED\tSTATUS")
		for _, e := range list {
			var cmd []string
			json.Unmarshal([]byte(e.Command), &cmd)
			cs := strings.Join(cmd, " ")
			if len(cs) > 20 {
				cs = cs[:19] + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%q\t%s ago\t%s\n", e.ID[:12], e.Name, e.Image, cs, human(ago(e.CreatedAt)), status(e))
		}
		tw.Flush()
	default:
		return 2, fmt.Errorf("--format %q: want table or json", *format)
	}
	return 0, nil
}

func cmdStatus(c *client, args []string) (int, error) {
	get := func(name string) any {
		v, err := c.property(contract.ManagerPath, contract.ManagerInterface, name)
		if err != nil {
			return nil
		}
		return v.Value()
	}
	list, err := c.list(true)
	if err != nil {
		return 1, err
	}
	counts := map[string]int{}
	for _, e := range list {
		counts[e.State]++
	}
	fmt.Printf("Version:         %v\n", get("Version"))
	fmt.Printf("Config digest:   %v\n", get("ConfigDigest"))
	fmt.Printf("Default runtime: %v\n", get("DefaultRuntime"))
	if rts, ok := get("Runtimes").([]string); ok {
		fmt.Printf("Runtimes:        %s\n", strings.Join(rts, ", "))
	}
	fmt.Printf("Containers:      %d (running %d, paused %d, created %d, exited %d)\n",
		len(list), counts["running"], counts["paused"], counts["created"], counts["exited"])
	return 0, nil
}

func cmdReload(c *client, args []string) (int, error) {
	fs := newFlags("reload", "")
	rest, err := parse(fs, args)
	if err != nil {
		return 2, nil
	}
	if len(rest) > 0 {
		return 2, fmt.Errorf("takes no arguments")
	}
	var digest string
	if err := c.call("Reload", []any{&digest}, map[string]dbus.Variant{}); err != nil {
		fmt.Fprintln(os.Stderr, "berthctl reload: "+describe(err)+" (the configuration in force is unchanged)")
		return 1, nil
	}
	fmt.Println(digest)
	return 0, nil
}
