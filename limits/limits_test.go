package limits

import (
	"math"
	"testing"
)

func TestStopTimeout(t *testing.T) {
	for v, ok := range map[int64]bool{0: true, 10: true, MaxStopTimeout: true, -1: false, MaxStopTimeout + 1: false, math.MaxInt64: false} {
		if err := StopTimeout(v); (err == nil) != ok {
			t.Errorf("%d: %v", v, err)
		}
	}
}

func TestMemory(t *testing.T) {
	for v, ok := range map[uint64]bool{0: true, MinMemory: true, 1 << 30: true, 1: false, MinMemory - 1: false} {
		if err := Memory(v); (err == nil) != ok {
			t.Errorf("%d: %v", v, err)
		}
	}
}

func TestCPUsToNano(t *testing.T) {
	for _, tc := range []struct {
		cpus float64
		want uint64 // 0: refused
	}{
		{0.5, 5e8}, {0.01, 1e7}, {4, 4e9}, {0.001, 0}, {0, 0}, {-1, 0}, {5, 0}, {math.NaN(), 0}, {math.Inf(1), 0},
	} {
		got, err := CPUsToNano(tc.cpus, 4)
		if got != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("%v: %d, %v; want %d", tc.cpus, got, err, tc.want)
		}
	}
}
