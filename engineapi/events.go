package engineapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/berthd/berth/eventlog"
	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	evtypes "github.com/moby/moby/api/types/events"
)

// waiter receives the events of one container (all when id is "").
type waiter struct {
	id string
	ch chan lifecycle.Event
}

// OnEvent takes the engine core's change of a container (it is called by
// the lifecycle.Manager's event hook and must not block).
func (s *Server) OnEvent(ev lifecycle.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.waiters {
		if w.id != "" && w.id != ev.Info.ID {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			// A waiter that does not keep up misses events; the
			// ones here read the current state again after each.
		}
	}
}

// watch registers a waiter for container id's events; the caller calls
// the returned function when done.
func (s *Server) watch(id string) (*waiter, func()) {
	w := &waiter{id: id, ch: make(chan lifecycle.Event, 64)}
	s.mu.Lock()
	s.waiters[w] = struct{}{}
	s.mu.Unlock()
	return w, func() {
		s.mu.Lock()
		delete(s.waiters, w)
		s.mu.Unlock()
	}
}

// eventMessage is an event as the Engine API sends it: docker's message
// and, as dockerd sends them to clients of every version, the fields of
// the older shape (status, id, from) on container and image events.
type eventMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	evtypes.Message
}

// events is GET /events: berth's events from the journal (package
// eventlog), one JSON message a line, since and until as Unix seconds with
// an optional fraction (docker's client turns durations and dates into
// those), filters as docker's (container, daemon, event, image, label,
// network, type, volume). Without until it follows until the client
// leaves.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	var o eventlog.Options
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"since", &o.Since}, {"until", &o.Until}} {
		v := r.URL.Query().Get(b.name)
		if v == "" {
			continue
		}
		t, err := parseUnixTime(v)
		if err != nil {
			return fmt.Errorf("invalid value for %s: %q: %v: %w", b.name, v, err, errdefs.ErrInvalidArgument)
		}
		*b.t = t
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && o.Until.Before(o.Since) {
		return fmt.Errorf("until (%s) is before since (%s): %w", r.URL.Query().Get("until"), r.URL.Query().Get("since"), errdefs.ErrInvalidArgument)
	}
	f, err := parseFilters(r, eventlog.FilterKeys...)
	if err != nil {
		return err
	}
	if o.Filter, err = eventlog.NewFilter(f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	err = eventlog.Read(r.Context(), o, func(m evtypes.Message) error {
		out := eventMessage{Message: m}
		if m.Type == evtypes.ContainerEventType || m.Type == evtypes.ImageEventType {
			out.Status, out.ID, out.From = string(m.Action), m.Actor.ID, m.Actor.Attributes["image"]
		}
		if err := jsonEncode(w, out); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		s.Log.Warn("engine API events stream failed", "err", err)
	}
	return nil
}
