package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dbusapi"
	"github.com/berthd/berth/engineapi"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/idle"
	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/runtimes"
	"github.com/berthd/berth/systemd"
	"github.com/berthd/berth/volumes"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// ErrBusLost ends Run when the system bus connection is gone.
var ErrBusLost = errors.New("the system bus connection is gone")

// Options are berthd's command-line settings.
type Options struct {
	ConfigFile string // main configuration file
	DropInDir  string // drop-in directory
	RootsFile  string // the roots record (DefaultRootsFile)
	// Listen is the unix socket path to serve HTTP on when systemd passed
	// no socket ("" then is an error).
	Listen      string
	MonitorPath string // berth-monitor
	Version     string
	Log         *slog.Logger
	// Level is the log level, set from the configuration at each reload.
	Level *slog.LevelVar
}

// Run serves until berthd is idle, ctx ends or the bus connection is lost.
// snap is the configuration loaded at start. On return, running
// containers go on under their monitors.
func Run(ctx context.Context, snap *config.Snapshot, o Options) (err error) {
	log := o.Log
	// Connections and background work live until Run returns, not until
	// ctx ends: shutting down still needs them.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	// Phase timings of the way to READY (debug level): activation is
	// what a cold call waits for.
	t0 := time.Now()
	var phases []any
	mark := func(name string) { phases = append(phases, name, time.Since(t0)) }

	listeners, err := systemd.Listeners()
	if err != nil {
		return err
	}
	if len(listeners) == 0 {
		if o.Listen == "" {
			return errors.New("no socket passed by systemd (start berthd.socket) and no --listen given")
		}
		os.Remove(o.Listen)
		l, err := net.Listen("unix", o.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", o.Listen, err)
		}
		listeners = append(listeners, l)
	}
	// Until berthd serves, a failure is answered on the sockets too, so
	// that the connection that activated berthd is not left queued
	// (systemd would start berthd for it again and again).
	ready := false
	defer func() {
		if err != nil && !ready {
			engineapi.AnnounceFailure(listeners, err, 500*time.Millisecond)
		}
	}()
	if _, err := os.Stat(o.MonitorPath); err != nil {
		return fmt.Errorf("berth-monitor: %w", err)
	}
	if err := checkRoots(o.RootsFile, snap); err != nil {
		return err
	}
	if err := writeWrappers(snap); err != nil {
		return err
	}

	mark("roots_wrappers")
	units, err := systemd.Connect(life)
	if err != nil {
		return err
	}
	defer units.Close()
	live := config.NewLive(snap)
	act := idle.New(time.Duration(snap.IdleTimeout))

	mark("systemd")
	var srv *dbusapi.Server
	var api *engineapi.Server
	var mgr *lifecycle.Manager
	imgs, err := images.Open(snap.DataRoot, func(id digest.Digest) bool { return mgr.ImageInUse(id) })
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	imgs.LayerUser = func(chainHex string) bool { return mgr.LayerInUse(chainHex) }
	vols, err := volumes.Open(snap.DataRoot, log)
	if err != nil {
		return fmt.Errorf("volume store: %w", err)
	}
	nets, err := network.Open(network.Options{DataRoot: snap.DataRoot, ExecRoot: snap.ExecRoot, Log: log})
	if err != nil {
		return fmt.Errorf("networks: %w", err)
	}
	mgr = lifecycle.New(lifecycle.Options{
		DataRoot: snap.DataRoot, ExecRoot: snap.ExecRoot, MonitorPath: o.MonitorPath, Units: units, Log: log, Images: imgs, Volumes: vols,
		Networks: nets, Hold: act.Begin, Snapshot: live.Load,
		Events: func(ev lifecycle.Event) {
			if srv != nil {
				srv.OnEvent(ev)
			}
			if api != nil {
				api.OnEvent(ev)
			}
		},
	})
	mark("images")
	srv, err = dbusapi.NewServer(mgr, imgs, live, act, log, o.Version)
	if err != nil {
		return err
	}
	srv.SetVolumes(vols)
	events.Observe(srv.EmitEvent)
	defer events.Observe(nil)
	api = engineapi.New(engineapi.Options{Manager: mgr, Images: imgs, Volumes: vols, Live: live, Idle: act, Log: log, Version: o.Version})
	defer srv.Close()
	mark("bus")
	defer mgr.Close()
	loaded := make(chan error, 1) // Load's failure ends berthd
	rl := &reloader{file: o.ConfigFile, dropIns: o.DropInDir, live: live, act: act, level: o.Level, applied: srv.SetSnapshot}
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
	// The records are read once berthd has its name (not before: on
	// two cores that would slow the way there): calls that need no
	// container (a Ping, the manager's properties) are answered at once,
	// the others wait for the records (container objects are served from
	// the manager when asked, so none is exported before).
	go func() {
		changed, err := mgr.Load(life)
		if err != nil {
			loaded <- fmt.Errorf("load state: %w", err)
			return
		}
		// Wrappers that no created or live container recorded and that
		// the snapshot does not use are left over from earlier
		// configurations.
		keep := mgr.RuntimePathsInUse()
		for _, w := range snap.Wrappers() {
			keep[w.Path] = true
		}
		if removed, err := runtimes.Clean(snap.WrapperDir(), keep); err != nil {
			log.Warn("cannot remove stale runtime wrappers", "err", err)
		} else if len(removed) > 0 {
			log.Info("removed stale runtime wrappers", "wrappers", removed)
		}
		log.Info("containers loaded", "containers", len(mgr.List()), "reconciled", changed)
	}()

	hs := &http.Server{Handler: api, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	for _, l := range listeners {
		go hs.Serve(l)
	}

	mark("exported_named")
	systemd.Ready("serving")
	ready = true
	log.Debug("startup", phases...)
	log.Info("berthd ready", "version", o.Version, "digest", snap.Digest)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, unix.SIGHUP)
	defer signal.Stop(hup)
	var result error
loop:
	for {
		idleNow, wait := act.Idle(time.Now())
		if idleNow {
			log.Info("idle, exiting", "idle_timeout", time.Duration(live.Load().IdleTimeout))
			break
		}
		select {
		case <-hup:
			go func() {
				defer act.Begin()()
				srv.Reload(life)
			}()
		case <-ctx.Done():
			log.Info("exiting", "cause", context.Cause(ctx))
			break loop
		case err := <-loaded:
			result = err
			break loop
		case <-srv.Lost():
			log.Error("system bus connection lost, exiting to be activated again")
			result = ErrBusLost
			break loop
		case <-wake:
		case <-time.After(wait):
		}
	}
	systemd.Stopping()
	srv.ReleaseName()
	sctx, scancel := context.WithTimeout(life, 5*time.Second)
	defer scancel()
	hs.Shutdown(sctx)
	return result
}
