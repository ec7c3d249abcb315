// Command berthd is the berth engine: socket- and D-Bus-activated, exits
// when idle. It parses its flags, loads the configuration, sets up logging
// and runs package engine. See docs/architecture.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi"
	"github.com/berthd/berth/engine"
	"github.com/berthd/berth/engineapi"
	"github.com/berthd/berth/systemd"
	"github.com/berthd/berth/version"
	clog "github.com/containerd/log"
	"golang.org/x/sys/unix"
)

func main() {
	if generate(os.Args[1:]) {
		return
	}
	o := registerFlags(flag.CommandLine)
	flag.Parse()
	if o.version {
		fmt.Println("berthd version", version.String())
		return
	}
	if o.releaseNetworks {
		n, err := engine.ReleaseNetworks(context.Background(), o.rootsFile, newLogger(slog.LevelInfo))
		if err != nil {
			fmt.Fprintln(os.Stderr, "berthd:", err)
			os.Exit(1)
		}
		fmt.Printf("released the networks of %d container(s)\n", n)
		return
	}
	// containerd's packages (the content store, mounts) log through
	// logrus at info level, for example that fsverity is not supported;
	// berth reports their errors itself.
	clog.SetLevel("error")

	snap, err := config.Load(o.configFile, o.dropInDir)
	if err != nil {
		fail(err)
	}
	level := new(slog.LevelVar)
	level.UnmarshalText([]byte(snap.LogLevel))
	log := newLogger(level)
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	err = engine.Run(ctx, snap, engine.Options{
		ConfigFile: o.configFile, DropInDir: o.dropInDir, RootsFile: o.rootsFile, Listen: o.listen,
		MonitorPath: findMonitor(o.monitor), Version: version.String(), Log: log, Level: level,
	})
	switch {
	case errors.Is(err, engine.ErrBusLost):
		// Not a failure: the next call activates a fresh berthd.
	case err != nil:
		log.Error("berthd failed", "err", err)
		fail(err)
	}
}

// options are berthd's command line flags.
type options struct {
	configFile, dropInDir, listen, rootsFile, monitor string
	version, releaseNetworks                          bool
}

// registerFlags defines berthd's flags on fs. berthd.8 is generated from
// the same definitions (a backquoted word of a usage names the value).
func registerFlags(fs *flag.FlagSet) *options {
	o := &options{}
	fs.StringVar(&o.configFile, "config", config.DefaultFile, "read the configuration from `file`")
	fs.StringVar(&o.dropInDir, "config-dir", config.DefaultDropInDir, "then read the drop-in files *.toml of `directory`, in lexical order")
	fs.StringVar(&o.listen, "listen", "", "serve the Engine API on the unix socket `path` when not socket-activated")
	fs.StringVar(&o.rootsFile, "roots-file", engine.DefaultRootsFile, "record the data-root and exec-root in use in `file`")
	fs.StringVar(&o.monitor, "monitor", "", "run containers with the berth-monitor at `path` (default: beside berthd, else /usr/libexec/berth/berth-monitor)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.releaseNetworks, "release-networks", false, "tear down the network of every container, which must be stopped, and exit (for the package's removal when berthd cannot run)")
	return o
}

// fail reports why berthd cannot run, also to a client whose call or
// connection is waiting for the activation (D-Bus and the activated
// sockets at once), and exits 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "berthd:", err)
	ls, _ := systemd.Listeners() // none when engine.Run took them already
	var wg sync.WaitGroup
	wg.Go(func() { engineapi.AnnounceFailure(ls, err, 500*time.Millisecond) })
	dbusapi.AnnounceFailure(err, 500*time.Millisecond)
	wg.Wait()
	os.Exit(1)
}

func newLogger(level slog.Leveler) *slog.Logger {
	if systemd.JournalStream() {
		return slog.New(systemd.NewJournalHandler("berthd", level))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func findMonitor(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "berth-monitor")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/libexec/berth/berth-monitor"
}
