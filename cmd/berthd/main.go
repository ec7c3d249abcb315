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
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/systemd"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// Version is set at build time.
var Version = "0.1.0-dev"

func main() {
	cfgFile := flag.String("config", config.DefaultFile, "configuration file")
	dropIns := flag.String("config-dir", config.DefaultDropInDir, "directory of drop-in configuration files")
	listen := flag.String("listen", "", "serve the API on this unix socket path when not socket-activated")
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
		os.Exit(1)
	}
	log := newLogger(snap.LogLevel)
	if err := run(log, snap, *listen, findMonitor(*monitorPath)); err != nil {
		log.Error("berthd failed", "err", err)
		fmt.Fprintln(os.Stderr, "berthd:", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	if systemd.JournalStream() {
		return slog.New(systemd.NewJournalHandler("berthd", lv))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
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

func run(log *slog.Logger, snap *config.Snapshot, listen, monitorPath string) error {
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
	mgr := lifecycle.New(lifecycle.Options{
		DataRoot: snap.DataRoot, ExecRoot: snap.ExecRoot, MonitorPath: monitorPath, Units: units, Log: log,
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
	srv = dbusapi.NewServer(bus, mgr, live, act, log, Version)
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
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	for {
		idleNow, wait := act.Idle(time.Now())
		if idleNow {
			log.Info("idle, exiting", "idle_timeout", time.Duration(live.Load().IdleTimeout))
			break
		}
		select {
		case s := <-sigs:
			log.Info("exiting on signal", "signal", s.String())
			goto out
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
