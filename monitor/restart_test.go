package monitor

import (
	"testing"
	"time"

	"github.com/berthd/berth/monitor/contract"
)

func TestShouldRestart(t *testing.T) {
	p := func(name string, max int) contract.RestartPolicy {
		return contract.RestartPolicy{Name: name, MaximumRetryCount: max}
	}
	for _, c := range []struct {
		p       contract.RestartPolicy
		code    int
		stopped bool
		count   int
		want    bool
	}{
		{p("", 0), 1, false, 0, false},
		{p("no", 0), 1, false, 0, false},
		{p("always", 0), 0, false, 100, true},
		{p("always", 0), 137, true, 0, false},
		{p("unless-stopped", 0), 0, false, 0, true},
		{p("unless-stopped", 0), 0, true, 0, false},
		{p("on-failure", 0), 0, false, 0, false},
		{p("on-failure", 0), 1, false, 1000, true},
		{p("on-failure", 3), 1, false, 2, true},
		{p("on-failure", 3), 1, false, 3, false},
		{p("on-failure", 3), 1, true, 0, false},
		{p("on-failure", 3), 137, false, 0, true},
	} {
		if got := shouldRestart(c.p, c.code, c.stopped, c.count); got != c.want {
			t.Errorf("shouldRestart(%+v, code %d, stopped %v, count %d) = %v, want %v", c.p, c.code, c.stopped, c.count, got, c.want)
		}
	}
}

// Docker's back-off: 100 ms doubling to a minute, back to 100 ms after an
// attempt that ran 10 s.
func TestBackoff(t *testing.T) {
	var b backoff
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000}
	for i, w := range want {
		if got := b.next(time.Second); got != w*time.Millisecond {
			t.Fatalf("restart %d: back-off %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := b.next(10 * time.Second); got != minBackoff {
		t.Fatalf("after a run of 10 s: back-off %v, want %v", got, minBackoff)
	}
	if got := b.next(0); got != 2*minBackoff {
		t.Fatalf("next: back-off %v, want %v", got, 2*minBackoff)
	}
}
