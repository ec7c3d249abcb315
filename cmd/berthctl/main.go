package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/version"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

// Exit codes of berthctl's own failures, as docker's: 125 when berth
// failed (or the command line was wrong), 126 when the payload's command
// cannot be run, 127 when it does not exist.
const (
	exitBerth         = 125
	exitNotExecutable = 126
	exitNotFound      = 127
)

func main() {
	os.Exit(execute(os.Args[1:]))
}

// execute runs berthctl with args and returns the process's exit code,
// having printed any error.
func execute(args []string) int {
	cl := &client{}
	defer cl.close()
	root := newRoot(cl)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var st *statusError
	if errors.As(err, &st) && st.err == nil {
		return st.code // already reported
	}
	name := "berthctl"
	if cmd != nil && cmd != root {
		name = cmd.CommandPath()
	}
	var ue *usageError
	if errors.As(err, &ue) || cmd == nil || cmd == root {
		// Unknown command, bad flag, wrong number of arguments.
		fmt.Fprintf(os.Stderr, "%s: %s\nSee '%s --help'.\n", name, err, name)
		return exitBerth
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, describe(err))
	if errors.As(err, &st) {
		return st.code
	}
	return 1
}

// newRoot builds the command tree; cl is shared by every verb and
// connects on first use, so --help and completion of flags never touch
// the bus.
func newRoot(cl *client) *cobra.Command {
	root := &cobra.Command{
		Use:   "berthctl",
		Short: "Control the berth container engine",
		Long: "berthctl controls berthd, the berth container engine, over the system bus.\n" +
			"A container is named by its id, a unique id prefix or its name.",
		Version:       version.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("berthctl version {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddGroup(&cobra.Group{ID: "containers", Title: "Containers:"}, &cobra.Group{ID: "images", Title: "Images:"},
		&cobra.Group{ID: "volumes", Title: "Volumes:"}, &cobra.Group{ID: "networks", Title: "Networks:"},
		&cobra.Group{ID: "engine", Title: "Engine:"})
	for _, c := range containerCommands(cl) {
		c.GroupID = "containers"
		root.AddCommand(c)
	}
	for _, c := range imageCommands(cl) {
		c.GroupID = "images"
		root.AddCommand(c)
	}
	for _, c := range volumeCommands(cl) {
		c.GroupID = "volumes"
		root.AddCommand(c)
	}
	for _, c := range networkCommands(cl) {
		c.GroupID = "networks"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{statusCommand(cl), reloadCommand(cl)} {
		c.GroupID = "engine"
		root.AddCommand(c)
	}
	addGenerators(root)
	// cobra's completion verb prints its help, exit 0, for a shell it
	// does not know; a typo in a packaging script should fail instead.
	root.InitDefaultCompletionCmd()
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp != root {
		comp.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown shell %q: want one of bash, zsh, fish, powershell", args[0])
			}
			return nil
		}
		comp.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
	var flagsInUse func(c *cobra.Command)
	flagsInUse = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true // every Use line says [OPTIONS] itself
		for _, sub := range c.Commands() {
			flagsInUse(sub)
		}
	}
	flagsInUse(root)
	return root
}

// usageError is a mistake on the command line: berthctl exits 125 and
// points at --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// statusError carries the exit code of a failure; with a nil err the
// failure has been reported already (as for each container of stop).
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *statusError) Unwrap() error { return e.err }

// berthFailed marks err as berth's own failure (exit 125), unless it says
// that the payload's command is missing (127) or cannot be run (126).
func berthFailed(err error) error {
	if err == nil {
		return nil
	}
	return &statusError{code: payloadCode(err), err: err}
}

// payloadCode is the exit code for a failure to start a payload.
func payloadCode(err error) int {
	err = contract.FromDBus(err)
	switch {
	case errors.Is(err, errs.CommandNotFound):
		return exitNotFound
	case errors.Is(err, errs.CommandNotExecutable):
		return exitNotExecutable
	}
	return exitBerth
}

// exactArgs, minArgs and noArgs check positional arguments with docker's
// wording.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%q requires exactly %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%q requires at least %d argument(s)", cmd.CommandPath(), n)
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%q accepts no arguments", cmd.CommandPath())
	}
	return nil
}

// describe turns an error from the bus into one line a user can act on.
// It looks at D-Bus error names and subjects, never at messages.
func describe(err error) string {
	err = contract.FromDBus(err)
	var r *contract.Remote
	activation := errors.As(err, &r) && contract.NotActivated(r.Name)
	msg := err.Error()
	switch {
	case activation:
		msg += " (berthd did not start; `journalctl -u berthd -n 20` says why)"
	case errdefs.IsPermissionDenied(err):
		msg = "permission denied: " + msg + " (run as root or as a member of group berth)"
	}
	return msg
}
