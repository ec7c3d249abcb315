package idle

import (
	"testing"
	"time"
)

func TestIdleOnlyWithNothingInFlight(t *testing.T) {
	tr := New(time.Second)
	now := time.Now()
	if idle, _ := tr.Idle(now); idle {
		t.Fatal("idle right after start")
	}
	end := tr.Begin()
	if idle, _ := tr.Idle(now.Add(time.Hour)); idle {
		t.Fatal("idle with a call in flight")
	}
	end()
	end() // a second call must not go negative
	if idle, left := tr.Idle(time.Now().Add(500 * time.Millisecond)); idle || left <= 0 || left > time.Second {
		t.Fatalf("idle %v left %v half-way through", idle, left)
	}
	if idle, _ := tr.Idle(time.Now().Add(2 * time.Second)); !idle {
		t.Fatal("not idle after the timeout")
	}
	tr.SetTimeout(0)
	if idle, _ := tr.Idle(time.Now().Add(time.Hour)); idle {
		t.Fatal("timeout 0 must mean never")
	}
}
