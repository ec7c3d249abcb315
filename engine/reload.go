package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/events"
	"github.com/berthd/berth/idle"
	"github.com/berthd/berth/runtimes"
	"github.com/berthd/berth/systemd"
)

// reloader builds a new snapshot from the files and swaps it in. One
// reload runs at a time; requests keep the snapshot they started with.
type reloader struct {
	mu      sync.Mutex
	file    string
	dropIns string
	live    *config.Live
	act     *idle.Tracker
	level   *slog.LevelVar
	// applied is called with the new snapshot after the swap (D-Bus
	// properties).
	applied func(*config.Snapshot)
}

// writeWrappers writes every wrapper snap needs (existing ones are reused).
func writeWrappers(snap *config.Snapshot) error {
	for _, w := range snap.Wrappers() {
		if err := runtimes.Ensure(w); err != nil {
			return err
		}
	}
	return nil
}

// Reload tells systemd, parses and validates the files, writes wrappers,
// swaps the snapshot and tells systemd again; it returns when the new
// snapshot is in force, or with an error and the old one still in force.
func (r *reloader) Reload(ctx context.Context) (old, cur *config.Snapshot, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	systemd.Reloading("reloading")
	old = r.live.Load()
	defer func() {
		status := "serving"
		if err != nil {
			status = "serving; last reload failed: " + err.Error()
		}
		systemd.Ready(status)
	}()
	next, err := config.Load(r.file, r.dropIns)
	if err != nil {
		return old, old, err
	}
	if err := config.CheckReload(old, next); err != nil {
		return old, old, err
	}
	if err := writeWrappers(next); err != nil {
		return old, old, err
	}
	r.live.Swap(next)
	r.act.SetTimeout(time.Duration(next.IdleTimeout))
	var lv slog.Level
	if lv.UnmarshalText([]byte(next.LogLevel)) == nil {
		r.level.Set(lv)
	}
	if r.applied != nil {
		r.applied(next)
	}
	events.Emit(events.Reloaded, "berthd", "configuration reloaded",
		events.Field{Name: "BERTH_OLD_DIGEST", Value: old.Digest}, events.Field{Name: "BERTH_CONFIG_DIGEST", Value: next.Digest})
	return old, next, nil
}
