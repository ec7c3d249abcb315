package engineapi

import (
	"github.com/berthd/berth/lifecycle"
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
