// Package idle tells berthd when it has had nothing to do for a while: no
// request, no call in flight and no open stream for the idle timeout.
package idle

import (
	"sync"
	"time"
)

// Tracker counts work in flight. It is safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	active  int
	last    time.Time
	timeout time.Duration
}

// New returns a tracker; timeout 0 means never idle.
func New(timeout time.Duration) *Tracker {
	return &Tracker{last: time.Now(), timeout: timeout}
}

// Begin marks work in flight; call the returned function when it ends.
func (t *Tracker) Begin() (end func()) {
	t.mu.Lock()
	t.active++
	t.last = time.Now()
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			t.active--
			t.last = time.Now()
			t.mu.Unlock()
		})
	}
}

// SetTimeout changes the timeout (a reload may).
func (t *Tracker) SetTimeout(d time.Duration) {
	t.mu.Lock()
	t.timeout = d
	t.mu.Unlock()
}

// Idle reports whether nothing is in flight and nothing happened for the
// timeout, and if not, how long to wait before asking again.
func (t *Tracker) Idle(now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timeout <= 0 {
		return false, time.Minute
	}
	if t.active > 0 {
		return false, t.timeout
	}
	left := t.timeout - now.Sub(t.last)
	if left <= 0 {
		return true, 0
	}
	return false, left
}
