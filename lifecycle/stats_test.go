package lifecycle

import (
	"math"
	"strings"
	"testing"

	containertypes "github.com/moby/moby/api/types/container"
)

func TestParseProcStat(t *testing.T) {
	const stat = `cpu  100 2 30 400 5 6 7 8 0 0
cpu0 50 1 15 200 2 3 3 4 0 0
cpu1 50 1 15 200 3 3 4 4 0 0
intr 12345 0 0
ctxt 999
cpufreq 1
`
	total, online, err := parseProcStat(strings.NewReader(stat))
	if err != nil {
		t.Fatal(err)
	}
	// user..softirq = 100+2+30+400+5+6+7 ticks of 10 ms; steal is not counted.
	if want := uint64(550) * 10_000_000; total != want || online != 2 {
		t.Errorf("total %d online %d, want %d and 2", total, online, want)
	}
	for name, bad := range map[string]string{
		"no cpu line": "intr 1\n",
		"short line":  "cpu 1 2 3\n",
		"not numbers": "cpu 1 2 x 4 5 6 7\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseProcStat(strings.NewReader(bad)); err == nil {
				t.Errorf("%q: no error", bad)
			}
		})
	}
}

func TestParseNetDev(t *testing.T) {
	const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      130       3    0    0    0     0       0          0
  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0
`
	nets, err := parseNetDev(strings.NewReader(dev))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]containertypes.NetworkStats{
		"lo":   {RxBytes: 120, RxPackets: 2, TxBytes: 130, TxPackets: 3},
		"eth0": {RxBytes: 1000, RxPackets: 10, RxErrors: 1, RxDropped: 2, TxBytes: 2000, TxPackets: 20, TxErrors: 3, TxDropped: 4},
	}
	if len(nets) != len(want) || nets["lo"] != want["lo"] || nets["eth0"] != want["eth0"] {
		t.Errorf("got %+v, want %+v", nets, want)
	}
	for name, bad := range map[string]string{
		"no colon":       "h1\nh2\n    lo 1 2 3\n",
		"short counters": "h1\nh2\n  lo: 1 2 3\n",
		"not a number":   "h1\nh2\n  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseNetDev(strings.NewReader(bad)); err == nil {
				t.Errorf("%q: no error", bad)
			}
		})
	}
}

func TestLowestLimit(t *testing.T) {
	for _, tc := range []struct {
		in   []uint64
		want uint64
	}{
		{nil, 0},
		{[]uint64{0, math.MaxUint64}, 0},
		{[]uint64{math.MaxUint64, 64 << 20, 8 << 30}, 64 << 20},
		{[]uint64{8 << 30, 0, 1 << 30}, 1 << 30},
	} {
		if got := lowestLimit(tc.in...); got != tc.want {
			t.Errorf("lowestLimit(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
