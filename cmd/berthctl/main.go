// Command berthctl controls berthd over D-Bus, in the style of machinectl.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/containerd/errdefs"
)

type command struct {
	name, args, help string
	run              func(c *client, args []string) (int, error)
}

var commands []command

func init() {
	commands = []command{
		{"run", "[OPTIONS] IMAGE|--rootfs DIR [COMMAND [ARG...]]", "Create and start a container, attached unless -d", cmdRun},
		{"create", "[OPTIONS] IMAGE|--rootfs DIR [COMMAND [ARG...]]", "Create a container", cmdCreate},
		{"start", "[-a] [-i] CONTAINER", "Start a created or exited container", cmdStart},
		{"stop", "[-t SECONDS] CONTAINER...", "Stop containers (stop signal, then SIGKILL)", cmdStop},
		{"restart", "[-t SECONDS] CONTAINER...", "Restart containers", cmdRestart},
		{"kill", "[-s SIGNAL] CONTAINER...", "Send a signal to containers", cmdKill},
		{"pause", "CONTAINER...", "Freeze containers", cmdPause},
		{"unpause", "CONTAINER...", "Thaw containers", cmdUnpause},
		{"exec", "[-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]", "Run a command in a running container", cmdExec},
		{"rm", "[-f] CONTAINER...", "Remove containers", cmdRm},
		{"ps", "[-a] [--format table|json]", "List containers", cmdPs},
		{"inspect", "CONTAINER...", "Show containers as JSON", cmdInspect},
		{"logs", "[-f] [--tail N] CONTAINER", "Show a container's output from the journal", cmdLogs},
		{"wait", "CONTAINER...", "Wait for containers to exit and print their exit codes", cmdWait},
		{"attach", "[--no-stdin] CONTAINER", "Attach to a running container's output and input", cmdAttach},
		{"status", "", "Show the engine's version, configuration digest and counts", cmdStatus},
		{"images", "[-q] [--format table|json]", "List images", cmdImages},
		{"image", "ls|load|inspect|tag|rm|prune ...", "Manage images", cmdImage},
		{"pull", "[-q] IMAGE", "Pull an image from a registry", cmdPull},
		{"load", "[-i FILE|-]", "Load a docker save or OCI archive", cmdLoad},
		{"save", "[-o FILE] IMAGE...", "Write images to an archive (docker and OCI)", cmdSave},
		{"tag", "SOURCE TARGET", "Give an image another name", cmdTag},
		{"rmi", "[-f] IMAGE...", "Remove images", cmdRmi},
		{"reload", "", "Reload the configuration files (starts berthd if it is idle) and print the new digest", cmdReload},
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: berthctl COMMAND [OPTIONS]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.help)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'berthctl COMMAND --help' for a command's options.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	name := os.Args[1]
	for _, c := range commands {
		if c.name != name {
			continue
		}
		cl := &client{}
		code, err := c.run(cl, os.Args[2:])
		cl.close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "berthctl "+name+": "+describe(err))
			if code == 0 {
				code = 1
			}
		}
		os.Exit(code)
	}
	fmt.Fprintf(os.Stderr, "berthctl: unknown command %q\n", name)
	usage()
	os.Exit(2)
}

// describe turns errors from the bus into one line a user can act on.
func describe(err error) string {
	err = contract.FromDBus(err)
	msg := err.Error()
	for _, class := range []error{errdefs.ErrNotFound, errdefs.ErrInvalidArgument, errdefs.ErrConflict, errdefs.ErrAlreadyExists, errdefs.ErrUnavailable, errdefs.ErrPermissionDenied, errdefs.ErrFailedPrecondition} {
		if errors.Is(err, class) {
			msg = strings.TrimSuffix(msg, ": "+class.Error())
			switch class {
			case errdefs.ErrNotFound:
				if !strings.Contains(msg, "not found") && !strings.Contains(msg, "no such") && !strings.Contains(msg, "not in the configuration") {
					msg += ": no such container"
				}
			case errdefs.ErrUnavailable:
				if strings.Contains(msg, "activate service") {
					msg += " (berthd did not start; `journalctl -u berthd -n 20` says why)"
				}
			case errdefs.ErrPermissionDenied:
				msg = "permission denied: " + msg + " (run as root or as a member of group berth)"
			}
		}
	}
	return msg
}
