package dbusapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/eventlog"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// GetEvents streams berth's events from the journal, docker's events one
// JSON message a stream.Stdout frame (eventlog.Open). An open stream keeps
// berthd from going idle.
func (m *manager) GetEvents(sender dbus.Sender, options map[string]dbus.Variant) (fd dbus.UnixFD, derr *dbus.Error) {
	derr = m.s.call(sender, func(ctx context.Context, _ *config.Snapshot) error {
		o, err := eventOptions(options)
		if err != nil {
			return err
		}
		f, err := eventlog.Open(ctx, o, m.s.act.Begin())
		if err != nil {
			return err
		}
		fd = passFD(f)
		return nil
	})
	return
}

// eventOptions reads GetEvents' options: since and until (x, µs since the
// epoch; absent: from now, and no end), filter (as: docker's KEY=VALUE
// pairs, keys as eventlog.FilterKeys).
func eventOptions(options map[string]dbus.Variant) (eventlog.Options, error) {
	var o eventlog.Options
	if err := knownOptions("GetEvents", options, "since", "until", "filter"); err != nil {
		return o, err
	}
	if err := optTimeRange(options, &o.Since, &o.Until); err != nil {
		return o, err
	}
	in, err := optStrings(options, "filter")
	if err != nil {
		return o, err
	}
	filters := map[string][]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, fmt.Errorf("filter %q: want KEY=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		filters[k] = append(filters[k], v)
	}
	o.Filter, err = eventlog.NewFilter(filters)
	return o, err
}
