package monitor

import (
	"testing"
	"time"

	"github.com/berthd/berth/monitor/contract"
)

func TestApplyResult(t *testing.T) {
	since := time.Now()
	hc := contract.Healthcheck{Retries: 2, StartPeriod: 10 * time.Second}
	ok := func(at time.Duration) contract.HealthResult { return contract.HealthResult{Start: since.Add(at)} }
	bad := func(at time.Duration) contract.HealthResult {
		return contract.HealthResult{Start: since.Add(at), ExitCode: 1}
	}
	tests := []struct {
		name    string
		results []contract.HealthResult
		status  string
		streak  int
	}{
		{"failures in the start period do not count", []contract.HealthResult{bad(time.Second), bad(2 * time.Second), bad(3 * time.Second)}, contract.HealthStarting, 0},
		{"failures after the start period count", []contract.HealthResult{bad(11 * time.Second), bad(12 * time.Second)}, contract.HealthUnhealthy, 2},
		{"one failure is not enough", []contract.HealthResult{bad(11 * time.Second)}, contract.HealthStarting, 1},
		{"a success makes it healthy", []contract.HealthResult{ok(time.Second)}, contract.HealthHealthy, 0},
		{"once healthy, failures in the start period count", []contract.HealthResult{ok(time.Second), bad(2 * time.Second), bad(3 * time.Second)}, contract.HealthUnhealthy, 2},
		{"a success resets the streak", []contract.HealthResult{ok(time.Second), bad(2 * time.Second), ok(3 * time.Second)}, contract.HealthHealthy, 0},
		{"timeouts and exec failures (-1) fail", []contract.HealthResult{{Start: since.Add(20 * time.Second), ExitCode: -1}, {Start: since.Add(21 * time.Second), ExitCode: -1}}, contract.HealthUnhealthy, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := contract.Health{Status: contract.HealthStarting}
			for _, r := range tc.results {
				applyResult(&st, r, hc, since)
			}
			if st.Status != tc.status || st.FailingStreak != tc.streak {
				t.Fatalf("status %s streak %d, want %s %d", st.Status, st.FailingStreak, tc.status, tc.streak)
			}
			if len(st.Log) != len(tc.results) {
				t.Fatalf("log has %d results, want %d", len(st.Log), len(tc.results))
			}
		})
	}
}

func TestApplyResultKeepsLastFive(t *testing.T) {
	st := contract.Health{Status: contract.HealthStarting}
	for i := range 8 {
		applyResult(&st, contract.HealthResult{ExitCode: i % 2, Output: string(rune('a' + i))}, contract.Healthcheck{Retries: 3}, time.Now())
	}
	if len(st.Log) != contract.MaxHealthLog || st.Log[0].Output != "d" || st.Log[4].Output != "h" {
		t.Fatalf("log %+v: want the last 5 results, d to h", st.Log)
	}
}

func TestCapped(t *testing.T) {
	c := &capped{max: 4}
	c.Write([]byte("ab"))
	c.Write([]byte("cdef"))
	c.Write([]byte("g"))
	if c.String() != "abcd" {
		t.Fatalf("got %q, want the first 4 bytes", c.String())
	}
}
