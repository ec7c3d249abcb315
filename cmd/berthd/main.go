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
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi"
	"github.com/berthd/berth/engine"
	"github.com/berthd/berth/systemd"
	"github.com/berthd/berth/version"
	clog "github.com/containerd/log"
	"golang.org/x/sys/unix"
)

func main() {
	cfgFile := flag.String("config", config.DefaultFile, "configuration file")
	dropIns := flag.String("config-dir", config.DefaultDropInDir, "directory of drop-in configuration files")
	listen := flag.String("listen", "", "serve the API on this unix socket path when not socket-activated")
	rootsFile := flag.String("roots-file", engine.DefaultRootsFile, "where the data-root and exec-root in use are recorded")
	monitorPath := flag.String("monitor", "", "path of berth-monitor (default: beside berthd, else /usr/libexec/berth/berth-monitor)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("berthd version", version.String())
		return
	}
	// containerd's packages (the content store, mounts) log through
	// logrus at info level, for example that fsverity is not supported;
	// berth reports their errors itself.
	clog.SetLevel("error")

	snap, err := config.Load(*cfgFile, *dropIns)
	if err != nil {
		fail(err)
	}
	level := new(slog.LevelVar)
	level.UnmarshalText([]byte(snap.LogLevel))
	log := newLogger(level)
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	err = engine.Run(ctx, snap, engine.Options{
		ConfigFile: *cfgFile, DropInDir: *dropIns, RootsFile: *rootsFile, Listen: *listen,
		MonitorPath: findMonitor(*monitorPath), Version: version.String(), Log: log, Level: level,
	})
	switch {
	case errors.Is(err, engine.ErrBusLost):
		// Not a failure: the next call activates a fresh berthd.
	case err != nil:
		log.Error("berthd failed", "err", err)
		fail(err)
	}
}

// fail reports why berthd cannot run, also to a client whose call is
// waiting for the activation, and exits 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "berthd:", err)
	dbusapi.AnnounceFailure(err, 500*time.Millisecond)
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
