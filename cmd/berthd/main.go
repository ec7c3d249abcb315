// Command berthd is the berth engine: socket- and D-Bus-activated, exits
// when idle. See docs/architecture.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi"
	"github.com/berthd/berth/idle"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/runtimes"
	"github.com/berthd/berth/systemd"
	"github.com/godbus/dbus/v5"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Version is set at build time.
var Version = "0.1.0-dev"

func main() {
	cfgFile := flag.String("config", config.DefaultFile, "configuration file")
	dropIns := flag.String("config-dir", config.DefaultDropInDir, "directory of drop-in configuration files")
	listen := flag.String("listen", "", "serve the API on this unix socket path when not socket-activated")
	rootsFile := flag.String("roots-file", DefaultRootsFile, "where the data-root and exec-root in use are recorded")
	monitorPath := flag.String("monitor", "", "path of berth-monitor (default: beside berthd, else /usr/libexec/berth/berth-monitor)")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("berthd", Version)
		return
	}
	snap, err := config.Load(*cfgFile, *dropIns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "berthd:", err)
		announceFailure(err, 500*time.Millisecond)
		os.Exit(1)
	}
	level := new(slog.LevelVar)
	level.UnmarshalText([]byte(snap.LogLevel))
	log := newLogger(level)
	d := &daemon{
		log: log, level: level, listen: *listen, monitorPath: findMonitor(*monitorPath),
		cfgFile: *cfgFile, dropIns: *dropIns, rootsFile: *rootsFile,
	}
	if err := d.run(snap); err != nil {
		log.Error("berthd failed", "err", err)
		fmt.Fprintln(os.Stderr, "berthd:", err)
		announceFailure(err, 500*time.Millisecond)
		os.Exit(1)
	}
}

func newLogger(level slog.Leveler) *slog.Logger {
	if systemd.JournalStream() {
		return slog.New(systemd.NewJournalHandler("berthd", level))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// daemon is one run of berthd.
type daemon struct {
	log                         *slog.Logger
	level                       *slog.LevelVar
	listen, monitorPath         string
	cfgFile, dropIns, rootsFile string
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

func (d *daemon) run(snap *config.Snapshot) error {
	log, listen, monitorPath := d.log, d.listen, d.monitorPath
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	listeners, err := systemd.Listeners()
	if err != nil {
		return err
	}
	if len(listeners) == 0 {
		if listen == "" {
			return errors.New("no socket passed by systemd (start berthd.socket) and no --listen given")
		}
		os.Remove(listen)
		l, err := net.Listen("unix", listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		listeners = append(listeners, l)
	}
	if _, err := os.Stat(monitorPath); err != nil {
		return fmt.Errorf("berth-monitor: %w", err)
	}

	if err := checkRoots(d.rootsFile, snap); err != nil {
		return err
	}
	if err := writeWrappers(snap); err != nil {
		return err
	}

	units, err := systemd.Connect(ctx)
	if err != nil {
		return err
	}
	defer units.Close()
	live := config.NewLive(snap)
	act := idle.New(time.Duration(snap.IdleTimeout))

	bus, err := dbus.ConnectSystemBus()
	if err != nil {
		return fmt.Errorf("system bus: %w", err)
	}
	defer bus.Close()

	var srv *dbusapi.Server
	var mgr *lifecycle.Manager
	imgs, err := images.Open(snap.DataRoot, func(id digest.Digest) bool { return mgr.ImageInUse(id) })
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	imgs.LayerUser = func(chainHex string) bool { return mgr.LayerInUse(chainHex) }
	mgr = lifecycle.New(lifecycle.Options{
		DataRoot: snap.DataRoot, ExecRoot: snap.ExecRoot, MonitorPath: monitorPath, Units: units, Log: log, Images: imgs,
		Events: func(ev lifecycle.Event) {
			if srv != nil {
				srv.OnEvent(ev)
			}
		},
	})
	changed, err := mgr.Load(ctx)
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	defer mgr.Close()
	// Wrappers that no created or live container recorded and that the
	// snapshot does not use are left over from earlier configurations.
	keep := mgr.RuntimePathsInUse()
	for _, w := range snap.Wrappers() {
		keep[w.Path] = true
	}
	if removed, err := runtimes.Clean(snap.WrapperDir(), keep); err != nil {
		log.Warn("cannot remove stale runtime wrappers", "err", err)
	} else if len(removed) > 0 {
		log.Info("removed stale runtime wrappers", "wrappers", removed)
	}
	srv = dbusapi.NewServer(bus, mgr, imgs, live, act, log, Version)
	rl := &reloader{file: d.cfgFile, dropIns: d.dropIns, live: live, act: act, level: d.level, applied: srv.SetSnapshot}
	wake := make(chan struct{}, 1) // the idle timeout may have changed
	srv.Reload = func(ctx context.Context) (string, error) {
		old, cur, err := rl.Reload(ctx)
		if err != nil {
			log.Error("reload failed; the old configuration stays in force", "digest", old.Digest, "err", err)
			return old.Digest, err
		}
		log.Info("reloaded", "old_digest", old.Digest, "digest", cur.Digest, "runtimes", cur.RuntimeNames())
		select {
		case wake <- struct{}{}:
		default:
		}
		return cur.Digest, nil
	}
	if err := srv.Export(); err != nil {
		return fmt.Errorf("export on the bus: %w", err)
	}
	if err := srv.RequestName(); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Api-Version", "1.45")
		w.Write([]byte("OK"))
	})
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer act.Begin()()
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	for _, l := range listeners {
		go hs.Serve(l)
	}

	systemd.Notify("READY=1\nSTATUS=serving")
	log.Info("berthd ready", "version", Version, "containers", len(mgr.List()), "reconciled", changed, "digest", snap.Digest)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	for {
		idleNow, wait := act.Idle(time.Now())
		if idleNow {
			log.Info("idle, exiting", "idle_timeout", time.Duration(live.Load().IdleTimeout))
			break
		}
		select {
		case s := <-sigs:
			if s == unix.SIGHUP {
				go func() {
					defer act.Begin()()
					srv.Reload(ctx)
				}()
				continue
			}
			log.Info("exiting on signal", "signal", s.String())
			goto out
		case <-wake:
		case <-time.After(wait):
		}
	}
out:
	systemd.Notify("STOPPING=1")
	srv.ReleaseName()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	hs.Shutdown(sctx)
	return nil
}
