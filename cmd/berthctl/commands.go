package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/limits"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// containerCommands are the container verbs.
func containerCommands(cl *client) []*cobra.Command {
	return []*cobra.Command{
		runCommand(cl), createCommand(cl), startCommand(cl), stopCommand(cl), restartCommand(cl),
		killCommand(cl), pauseCommand(cl), unpauseCommand(cl), execCommand(cl), rmCommand(cl),
		psCommand(cl), inspectCommand(cl), logsCommand(cl), eventsCommand(cl), waitCommand(cl), attachCommand(cl), renameCommand(cl), updateCommand(cl),
		containerCommand(cl), topCommand(cl), cpCommand(cl), commitCommand(cl), statsCommand(cl), diffCommand(cl), exportCommand(cl),
		portCommand(cl), healthcheckCommand(cl),
	}
}

type createFlags struct {
	volumes, mounts, tmpfs                                             []string
	name, rootfs, workdir, user, hostname, runtime, memory, stopSignal string
	restart                                                            string
	env, envFile                                                       []string
	interactive, tty, rm, noNewPrivs, detach                           bool
	cpus                                                               float64
	cpuShares                                                          uint64
	pidsLimit                                                          int64
	stopTimeout                                                        int
	fs                                                                 *pflag.FlagSet
	run                                                                runFlags
	health                                                             healthFlags
}

// register declares the flags of create, and of run if run. -h is
// --hostname, as in docker; --help keeps its meaning.
func (f *createFlags) register(fs *pflag.FlagSet, run bool) {
	if run {
		fs.BoolVarP(&f.detach, "detach", "d", false, "Run in the background and print the container's id")
	}
	f.fs = fs
	fs.SetInterspersed(false) // IMAGE ends the options: run IMAGE sh -c 'x -y'
	fs.Bool("help", false, "Print usage")
	fs.StringVar(&f.name, "name", "", "Assign a name to the container")
	fs.StringVar(&f.rootfs, "rootfs", "", "Use this directory as the root file system instead of an image")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "Set an environment variable NAME=value, or NAME to pass berthctl's own value (repeatable)")
	fs.StringArrayVar(&f.envFile, "env-file", nil, "Read environment variables from a file (docker's format; repeatable)")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "User to run as: name|uid[:group|gid]")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&f.runtime, "runtime", "", "OCI runtime name from the configuration")
	fs.StringVarP(&f.memory, "memory", "m", "", "Memory limit (MemoryMax=), e.g. 64m, 1g")
	fs.Float64Var(&f.cpus, "cpus", 0, "CPU limit in CPUs (CPUQuota=)")
	fs.Uint64VarP(&f.cpuShares, "cpu-shares", "c", 0, "Relative CPU weight, docker's scale (CPUWeight=)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "Task limit (TasksMax=); 0 or -1: unlimited")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal that stops the container (default SIGTERM)")
	fs.IntVar(&f.stopTimeout, "stop-timeout", 0, "Seconds between the stop signal and SIGKILL (default: the image's, else 10)")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "Keep standard input open")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-terminal")
	fs.BoolVar(&f.rm, "rm", false, "Remove the container when it exits")
	fs.StringVar(&f.restart, "restart", "", "Restart policy, carried out by the container's monitor: no, on-failure[:MAX], always, unless-stopped")
	fs.BoolVar(&f.noNewPrivs, "no-new-privileges", false, "Set no_new_privs for the container's processes")
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount HOST:CTR[:ro|rw][,z] (a missing HOST directory is created), a named volume NAME:CTR, or an anonymous volume CTR (repeatable)")
	fs.StringArrayVar(&f.mounts, "mount", nil, "Mount: type=bind|volume|tmpfs,source=,target=[,readonly][,bind-propagation=][,volume-nocopy][,tmpfs-size=][,tmpfs-mode=] (repeatable)")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs: /PATH[:size=64m,mode=1777,…] (repeatable)")
	f.run.register(fs)
	f.health.register(fs)
}

// parseSize reads a size as docker does ("512m", "1g", "1.5GB"; binary
// units).
// memoryFlag reads --memory (64m, 1g), within limits.Memory's bounds.
func memoryFlag(s string) (uint64, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, usagef("--memory: %w", err)
	}
	if err := limits.Memory(n); err != nil {
		return 0, usagef("--memory %s: %v", s, err)
	}
	return n, nil
}

// cpusFlag checks --cpus against the CPUs present.
func cpusFlag(cpus float64) error {
	if _, err := limits.CPUsToNano(cpus, runtime.NumCPU()); err != nil {
		return usagef("--cpus %v: %v", cpus, err)
	}
	return nil
}

func parseSize(s string) (uint64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 512m)", s)
	}
	return uint64(n), nil
}

// options builds CreateContainer's options from the flags and the
// positional arguments (IMAGE [COMMAND...], or COMMAND... with --rootfs);
// lookup is berthctl's environment, for -e NAME. Every mistake it can
// see is refused here, before anything is created.
func (f *createFlags) options(args []string, lookup func(string) (string, bool)) (map[string]dbus.Variant, error) {
	o := map[string]dbus.Variant{}
	if f.rootfs == "" {
		if len(args) == 0 {
			return nil, usagef("give an image (or --rootfs DIR) and optionally a command")
		}
		o["image"] = dbus.MakeVariant(args[0])
		args = args[1:]
	} else {
		if len(args) == 0 {
			return nil, usagef("--rootfs: no command given")
		}
		o["rootfs"] = dbus.MakeVariant(f.rootfs)
	}
	if len(args) > 0 {
		o["cmd"] = dbus.MakeVariant(args)
	}
	putString(o, "name", f.name)
	putString(o, "workdir", f.workdir)
	putString(o, "user", f.user)
	putString(o, "hostname", f.hostname)
	putString(o, "runtime", f.runtime)
	putString(o, "stop_signal", f.stopSignal)
	env, err := environment(f.env, f.envFile, lookup)
	if err != nil {
		return nil, usagef("%w", err)
	}
	putStrings(o, "env", env)
	putTrue(o, "tty", f.tty)
	putTrue(o, "stdin", f.interactive)
	putTrue(o, "auto_remove", f.rm)
	putString(o, "restart_policy", f.restart)
	putTrue(o, "no_new_privileges", f.noNewPrivs)
	if f.memory != "" {
		n, err := memoryFlag(f.memory)
		if err != nil {
			return nil, err
		}
		o["memory"] = dbus.MakeVariant(n)
	}
	if f.cpus != 0 {
		if err := cpusFlag(f.cpus); err != nil {
			return nil, err
		}
		o["cpus"] = dbus.MakeVariant(f.cpus)
	}
	if f.cpuShares != 0 {
		o["cpu_shares"] = dbus.MakeVariant(f.cpuShares)
	}
	if f.pidsLimit > 0 { // as docker: 0 and negative are unlimited
		o["pids_limit"] = dbus.MakeVariant(uint64(f.pidsLimit))
	}
	putStrings(o, "binds", f.volumes)
	putStrings(o, "mounts", f.mounts)
	if len(f.tmpfs) > 0 {
		t := map[string]string{}
		for _, v := range f.tmpfs {
			dst, opts, _ := strings.Cut(v, ":")
			if _, dup := t[dst]; dup {
				return nil, usagef("--tmpfs %s: duplicate mount point", dst)
			}
			t[dst] = opts
		}
		o["tmpfs"] = dbus.MakeVariant(t)
	}
	if f.fs != nil && f.fs.Changed("stop-timeout") {
		if err := checkStopTimeout("--stop-timeout", int64(f.stopTimeout)); err != nil {
			return nil, err
		}
		o["stop_timeout"] = dbus.MakeVariant(int64(f.stopTimeout))
	}
	if err := f.run.addOptions(o); err != nil {
		return nil, usagef("%w", err)
	}
	if err := f.health.addOptions(o); err != nil {
		return nil, usagef("%w", err)
	}
	return o, nil
}

// consoleSize is the terminal's size on standard input as the
// "console_size" option wants it ([height, width]); ok is false when
// standard input is not a terminal.
func consoleSize() (size []uint32, ok bool) {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 || ws.Col == 0 {
		return nil, false
	}
	return []uint32{uint32(ws.Row), uint32(ws.Col)}, true
}

// create creates a container and returns its id; as docker run does, it
// pulls a missing image and tries again.
func create(cl *client, f *createFlags, args []string) (string, error) {
	o, err := f.options(args, os.LookupEnv)
	if err != nil {
		return "", err
	}
	if f.tty {
		// The payload's first instruction sees the client's size.
		if size, ok := consoleSize(); ok {
			o["console_size"] = dbus.MakeVariant(size)
		}
	}
	var id string
	var path dbus.ObjectPath
	err = cl.call("CreateContainer", []any{&id, &path}, o)
	if img, ok := o["image"]; ok && errors.Is(contract.FromDBus(err), errs.NoSuchImage) {
		ref := img.Value().(string)
		if err := pullable(ref); err != nil {
			return "", err
		}
		fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", ref)
		if _, perr := pull(cl, ref, term.IsTerminal(int(os.Stderr.Fd()))); perr != nil {
			return "", perr
		}
		err = cl.call("CreateContainer", []any{&id, &path}, o)
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// pullable refuses, as docker does before it looks anything up, a
// missing image's reference that cannot be pulled because it does not
// parse.
func pullable(ref string) error {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("image %q: invalid reference format: %w", ref, errdefs.ErrInvalidArgument)
	}
	return nil
}

func noOpts() map[string]dbus.Variant { return map[string]dbus.Variant{} }

const createUse = " [OPTIONS] IMAGE [COMMAND] [ARG...] | [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]"

func createCommand(cl *client) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:               "create" + createUse,
		Short:             "Create a container",
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := create(cl, &f, args)
			if err != nil {
				return berthFailed(err)
			}
			fmt.Println(id)
			return nil
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

func runCommand(cl *client) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:               "run" + createUse,
		Short:             "Create and start a container, attached unless -d",
		Long:              "Create and start a container. berthctl run exits with the container's exit code; 125 when berth failed, 126 when the command cannot be run, 127 when it does not exist.",
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := create(cl, &f, args)
			if err != nil {
				return berthFailed(err)
			}
			if f.detach {
				if err := cl.call("StartContainer", nil, id, noOpts()); err != nil {
					cl.call("RemoveContainer", nil, id, map[string]dbus.Variant{"force": dbus.MakeVariant(true), "volumes": dbus.MakeVariant(true)})
					return berthFailed(err)
				}
				fmt.Println(id)
				return nil
			}
			return exitWith(startAttached(cl, id, f.interactive, f.tty, true))
		},
	}
	f.register(cmd.Flags(), true)
	return cmd
}

// exitWith turns a container's exit code into berthctl's.
func exitWith(code int, err error) error {
	if err != nil {
		return berthFailed(err)
	}
	if code != 0 {
		return &statusError{code: code}
	}
	return nil
}

// startAttached starts a container whose payload waits for our attach, so
// no output is missed, and returns the container's exit code.
func startAttached(cl *client, id string, stdin, tty, removeOnFail bool) (int, error) {
	if err := cl.call("StartContainer", nil, id, map[string]dbus.Variant{"attach": dbus.MakeVariant(true)}); err != nil {
		if removeOnFail {
			cl.call("RemoveContainer", nil, id, map[string]dbus.Variant{"force": dbus.MakeVariant(true), "volumes": dbus.MakeVariant(true)})
		}
		return 0, err
	}
	// WaitContainer keeps berthd from going idle while we run, and gives
	// the exit code if the stream ends without one.
	waited := make(chan int32, 1)
	go func() {
		// The same connection: godbus serves concurrent calls.
		code, err := cl.wait(id)
		if err != nil {
			code = -1
		}
		waited <- code
	}()
	f, err := cl.stream("AttachContainer", id, map[string]dbus.Variant{"stdin": dbus.MakeVariant(stdin)})
	if err != nil {
		return 0, err
	}
	code, err := pump(f, stdin, tty)
	if err != nil {
		return 0, err
	}
	if code < 0 {
		code = int(<-waited)
	}
	if code < 0 {
		return 0, fmt.Errorf("container %s: the exit code was lost", id[:12])
	}
	return code, nil
}

func startCommand(cl *client) *cobra.Command {
	var attach, interactive bool
	cmd := &cobra.Command{
		Use:               "start [OPTIONS] CONTAINER...",
		Short:             "Start created or exited containers",
		Args:              minArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach || interactive {
				if len(args) > 1 {
					return fmt.Errorf("--attach and --interactive take one container, not %d (as docker's start)", len(args))
				}
				v, err := cl.inspect(args[0])
				if err != nil {
					return berthFailed(err)
				}
				return exitWith(startAttached(cl, v.ID, interactive, v.Config.TTY, false))
			}
			if len(args) == 1 {
				if err := cl.call("StartContainer", nil, args[0], noOpts()); err != nil {
					return err
				}
				fmt.Println(args[0])
				return nil
			}
			return each(cmd, args, func(ref string) error { return cl.call("StartContainer", nil, ref, noOpts()) })
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "Attach to the container's output and exit with its exit code")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "Attach standard input")
	return cmd
}

type inspectView struct {
	ID     string `json:"Id"`
	Config struct {
		TTY bool `json:"Tty"`
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

// each runs f for every container named, reporting each failure, as
// docker does for start, stop, kill and rm: in parallel (at most
// eachParallel at once; a stop may wait its whole timeout), the results
// printed in the order the containers were named.
func each(cmd *cobra.Command, refs []string, f func(ref string) error) error {
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, eachParallel)
	for i, r := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f(r)
		})
	}
	wg.Wait()
	failed := false
	for i, r := range refs {
		if err := errs[i]; err != nil {
			reportRef(cmd, r, err)
			failed = true
			continue
		}
		fmt.Println(r)
	}
	if failed {
		return &statusError{code: 1}
	}
	return nil
}

// eachParallel bounds the containers each works on at once.
const eachParallel = 16

// reportRef prints the failure of cmd on one of several refs, as
// "berthctl stop: container "x": ...", naming ref once.
func reportRef(cmd *cobra.Command, ref string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", cmd.CommandPath(), refMessage(ref, err))
}

// refMessage is err's description, led by ref unless it names ref already.
func refMessage(ref string, err error) string {
	msg := describe(err)
	if !strings.Contains(msg, ref) {
		msg = ref + ": " + msg
	}
	return msg
}

// checkStopTimeout checks a stop timeout flag (seconds) against berthd's
// bounds, so that a mistake names the flag as typed. A negative one is
// docker's "no timeout", which berth does not have.
func checkStopTimeout(flag string, t int64) error {
	if t < 0 {
		return usagef("%s %d: negative; berth always ends a stop with SIGKILL after a timeout (docker's -1, wait without one, is not supported): give the seconds to wait", flag, t)
	}
	if err := limits.StopTimeout(t); err != nil {
		return usagef("%s %d: %v", flag, t, err)
	}
	return nil
}

// stopOpts passes -t/--time when it was given, checked first, and
// -s/--signal when it is not empty.
func stopOpts(cmd *cobra.Command, t int, signal string) (map[string]dbus.Variant, error) {
	o := noOpts()
	if cmd.Flags().Changed("time") {
		if err := checkStopTimeout("-t/--time", int64(t)); err != nil {
			return nil, err
		}
		o["timeout"] = dbus.MakeVariant(int64(t))
	}
	if signal != "" {
		o["signal"] = dbus.MakeVariant(signal)
	}
	return o, nil
}

// eachCommand is a verb applied to every container named.
func eachCommand(cl *client, use, short string, running bool, f func(ref string) error) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              minArgs(1),
		ValidArgsFunction: completeContainers(cl, running),
		RunE:              func(cmd *cobra.Command, args []string) error { return each(cmd, args, f) },
	}
}

func stopCommand(cl *client) *cobra.Command {
	var t int
	var sig string
	var cmd *cobra.Command
	var o map[string]dbus.Variant
	cmd = eachCommand(cl, "stop [OPTIONS] CONTAINER...", "Stop containers (stop signal, then SIGKILL)", true,
		func(r string) error { return cl.call("StopContainer", nil, r, o) })
	cmd.PreRunE = func(cmd *cobra.Command, args []string) (err error) { o, err = stopOpts(cmd, t, sig); return err }
	cmd.Flags().IntVarP(&t, "time", "t", 0, "Seconds to wait before SIGKILL (default: the container's stop timeout)")
	cmd.Flags().StringVarP(&sig, "signal", "s", "", "Signal to send instead of the container's stop signal")
	return cmd
}

func restartCommand(cl *client) *cobra.Command {
	var t int
	var sig string
	var cmd *cobra.Command
	var o map[string]dbus.Variant
	cmd = eachCommand(cl, "restart [OPTIONS] CONTAINER...", "Restart containers", false,
		func(r string) error { return cl.call("RestartContainer", nil, r, o) })
	cmd.PreRunE = func(cmd *cobra.Command, args []string) (err error) { o, err = stopOpts(cmd, t, sig); return err }
	cmd.Flags().IntVarP(&t, "time", "t", 0, "Seconds to wait before SIGKILL (default: the container's stop timeout)")
	cmd.Flags().StringVarP(&sig, "signal", "s", "", "Signal to send instead of the container's stop signal")
	return cmd
}

func killCommand(cl *client) *cobra.Command {
	sig := "KILL"
	cmd := eachCommand(cl, "kill [OPTIONS] CONTAINER...", "Send a signal to containers", true,
		func(r string) error { return cl.call("KillContainer", nil, r, sig, noOpts()) })
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "Signal name or number")
	return cmd
}

func pauseCommand(cl *client) *cobra.Command {
	return eachCommand(cl, "pause CONTAINER...", "Freeze containers", true,
		func(r string) error { return cl.call("PauseContainer", nil, r) })
}

func unpauseCommand(cl *client) *cobra.Command {
	return eachCommand(cl, "unpause CONTAINER...", "Thaw containers", true,
		func(r string) error { return cl.call("UnpauseContainer", nil, r) })
}

func rmCommand(cl *client) *cobra.Command {
	var force, vols bool
	cmd := eachCommand(cl, "rm [OPTIONS] CONTAINER...", "Remove containers", false, func(r string) error {
		o := map[string]dbus.Variant{"force": dbus.MakeVariant(force)}
		if vols {
			o["volumes"] = dbus.MakeVariant(true)
		}
		return cl.call("RemoveContainer", nil, r, o)
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Stop running containers with SIGKILL first")
	cmd.Flags().BoolVarP(&vols, "volumes", "v", false, "Remove the containers' anonymous volumes too")
	return cmd
}

func waitCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:               "wait CONTAINER...",
		Short:             "Wait for containers to exit and print their exit codes",
		Args:              minArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			// As docker: a container that cannot be waited for is
			// reported, the others are still waited for, exit 1.
			failed := false
			for _, r := range args {
				code, err := cl.wait(r)
				if err != nil {
					reportRef(cmd, r, err)
					failed = true
					continue
				}
				fmt.Println(code)
			}
			if failed {
				return &statusError{code: 1}
			}
			return nil
		},
	}
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

func inspectCommand(cl *client) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:               "inspect [OPTIONS] CONTAINER...",
		Short:             "Show containers as JSON, or through a Go template",
		Args:              minArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectAll(cl, "InspectContainer", format, args)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format each object with a Go template, as docker (e.g. '{{.State.Status}}')")
	return cmd
}

// inspectAll prints the JSON of each ref as one array, as docker inspect,
// or each through the template format. A ref that fails is reported and
// the others are still printed; the exit code is then 1.
func inspectAll(cl *client, method, format string, refs []string) error {
	var tmpl *formatTemplate
	if format != "" {
		var err error
		if tmpl, err = parseTemplate(format); err != nil {
			return usagef("--format: %w", err)
		}
	}
	all := []json.RawMessage{}
	failed := false
	for _, r := range refs {
		var s string
		if err := cl.call(method, []any{&s}, r); err != nil {
			fmt.Fprintln(os.Stderr, "berthctl: "+describe(err))
			failed = true
			continue
		}
		if tmpl == nil {
			all = append(all, json.RawMessage(s))
			continue
		}
		v, err := decodeJSON(s)
		if err != nil {
			return err
		}
		out, err := tmpl.execute(v)
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Println(out)
	}
	if tmpl == nil {
		b, _ := json.MarshalIndent(all, "", "  ")
		fmt.Println(string(b))
	}
	if failed {
		return &statusError{code: 1}
	}
	return nil
}

func execCommand(cl *client) *cobra.Command {
	var interactive, tty bool
	var env, envFile []string
	var workdir, user string
	cmd := &cobra.Command{
		Use:               "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short:             "Run a command in a running container",
		Long:              "Run a command in a running container. berthctl exec exits with the command's exit code; 125 when berth failed, 126 when the command cannot be run, 127 when it does not exist.",
		Args:              minArgs(2),
		ValidArgsFunction: completeContainers(cl, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := environment(env, envFile, os.LookupEnv)
			if err != nil {
				return usagef("%w", err)
			}
			o := map[string]dbus.Variant{"tty": dbus.MakeVariant(tty), "stdin": dbus.MakeVariant(interactive)}
			if len(e) > 0 {
				o["env"] = dbus.MakeVariant(e)
			}
			if workdir != "" {
				o["workdir"] = dbus.MakeVariant(workdir)
			}
			if user != "" {
				o["user"] = dbus.MakeVariant(user)
			}
			if tty {
				if size, ok := consoleSize(); ok {
					o["console_size"] = dbus.MakeVariant(size)
				}
			}
			f, err := cl.stream("ExecContainer", args[0], args[1:], o)
			if err != nil {
				return berthFailed(err)
			}
			code, err := pump(f, interactive, tty)
			if err == nil && code < 0 {
				err = fmt.Errorf("the exec stream ended without an exit code")
			}
			return exitWith(code, err)
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&interactive, "interactive", "i", false, "Keep standard input open")
	fs.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-terminal")
	fs.StringArrayVarP(&env, "env", "e", nil, "Set an environment variable NAME=value, or NAME to pass berthctl's own value (repeatable)")
	fs.StringArrayVar(&envFile, "env-file", nil, "Read environment variables from a file (docker's format; repeatable)")
	fs.StringVarP(&workdir, "workdir", "w", "", "Working directory")
	fs.StringVarP(&user, "user", "u", "", "User to run as: name|uid[:group|gid]")
	return cmd
}

func attachCommand(cl *client) *cobra.Command {
	var noStdin bool
	cmd := &cobra.Command{
		Use:               "attach [OPTIONS] CONTAINER",
		Short:             "Attach to a running container's output and input",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(cl, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cl.inspect(args[0])
			if err != nil {
				return err
			}
			f, err := cl.stream("AttachContainer", args[0], map[string]dbus.Variant{"stdin": dbus.MakeVariant(!noStdin)})
			if err != nil {
				return err
			}
			code, err := pump(f, !noStdin, v.Config.TTY)
			if code < 0 {
				code = 0
			}
			return exitWith(code, err)
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach standard input")
	return cmd
}

func logsCommand(cl *client) *cobra.Command {
	var lf logsFlags
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Show a container's output",
		Long: "Show a container's output, read from its local log (every line, or a notice naming how many were lost);\n" +
			"journald has the same lines (journalctl CONTAINER_NAME=NAME) as far as its rate limit lets them through.\n\n" +
			"--since and --until take docker's forms: RFC 3339 (2026-11-29T10:00:00Z, 2026-11-29T10:00:00.5+01:00), " +
			"a date and time without a zone (local time: 2026-11-29T10:00:00, 2026-11-29), " +
			"unix seconds (1764410400, 1764410400.5) or a duration before now (10m, 1h30m).",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(cl, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := lf.options(time.Now())
			if err != nil {
				return usagef("%w", err)
			}
			f, err := cl.stream("GetContainerLogs", args[0], o)
			if err != nil {
				return err
			}
			_, err = pump(f, false, true)
			return err
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&lf.follow, "follow", "f", false, "Follow new output until the container exits")
	fs.StringVarP(&lf.tail, "tail", "n", "all", "Show only the last N lines")
	fs.StringVar(&lf.since, "since", "", "Show output since a time or a duration ago (e.g. 2026-11-29T10:00:00Z, 1764410400, 10m)")
	fs.StringVar(&lf.until, "until", "", "Show output before a time or a duration ago")
	fs.BoolVarP(&lf.timestamps, "timestamps", "t", false, "Prefix each line with its time (RFC 3339, nanoseconds)")
	return cmd
}

func statusCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the engine's version, configuration digest and counts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			get := func(name string) any {
				v, err := cl.property(contract.ManagerPath, contract.ManagerInterface, name)
				if err != nil {
					return nil
				}
				return v.Value()
			}
			list, err := cl.list(true)
			if err != nil {
				return err
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
			return nil
		},
	}
}

func reloadCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Reload the configuration files (starts berthd if it is idle) and print the new digest",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var digest string
			if err := cl.call("Reload", []any{&digest}, noOpts()); err != nil {
				fmt.Fprintln(os.Stderr, "berthctl reload: "+describe(err)+" (the configuration in force is unchanged)")
				return &statusError{code: 1}
			}
			fmt.Println(digest)
			return nil
		},
	}
}

// groupCommand is a verb that only holds subcommands ("image ls"): alone
// it prints its help, and an argument that is no subcommand is refused.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
}
