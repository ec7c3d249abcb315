package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestCPUPercent(t *testing.T) {
	now := time.Now()
	reading := func(pre bool, cpu, sys, preCPU, preSys uint64, online uint32) container.StatsResponse {
		s := container.StatsResponse{Read: now}
		s.CPUStats.CPUUsage.TotalUsage, s.CPUStats.SystemUsage, s.CPUStats.OnlineCPUs = cpu, sys, online
		if pre {
			s.PreRead = now.Add(-time.Second)
			s.PreCPUStats.CPUUsage.TotalUsage, s.PreCPUStats.SystemUsage = preCPU, preSys
		}
		return s
	}
	for _, tc := range []struct {
		name string
		s    container.StatsResponse
		want float64
	}{
		// One CPU of two busy for a second: the host's time grew by 2 s.
		{"one of two busy", reading(true, 3e9, 12e9, 2e9, 10e9, 2), 100},
		{"a quarter of one CPU", reading(true, 1.25e9, 14e9, 1e9, 10e9, 4), 25},
		{"no previous reading", reading(false, 3e9, 12e9, 0, 0, 2), 0},
		{"idle", reading(true, 2e9, 12e9, 2e9, 10e9, 2), 0},
		{"clock did not move", reading(true, 3e9, 10e9, 2e9, 10e9, 2), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuPercent(tc.s); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("cpuPercent = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatsRow(t *testing.T) {
	var s container.StatsResponse
	if err := json.Unmarshal([]byte(`{"id":"0123456789abcdef0123","name":"/web","read":"2026-11-29T13:00:01Z",
		"preread":"2026-11-29T13:00:00Z",
		"cpu_stats":{"cpu_usage":{"total_usage":1500000000},"system_cpu_usage":12000000000,"online_cpus":2},
		"precpu_stats":{"cpu_usage":{"total_usage":1000000000},"system_cpu_usage":10000000000},
		"memory_stats":{"usage":12582912,"limit":67108864,"stats":{"inactive_file":4194304}},
		"pids_stats":{"current":3,"limit":50},
		"blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"read","value":1000},
			{"major":8,"minor":0,"op":"write","value":2048},{"major":8,"minor":16,"op":"Read","value":24}]},
		"networks":{"lo":{"rx_bytes":100,"tx_bytes":100},"eth0":{"rx_bytes":1400,"tx_bytes":0}}}`), &s); err != nil {
		t.Fatal(err)
	}
	r := statsRow{s: s, container: "web"}
	got := map[string]string{
		"Container": r.Container(), "ID": r.ID(), "Name": r.Name(), "CPUPerc": r.CPUPerc(), "MemUsage": r.MemUsage(),
		"MemPerc": r.MemPerc(), "NetIO": r.NetIO(), "BlockIO": r.BlockIO(), "PIDs": r.PIDs(),
	}
	want := map[string]string{
		"Container": "web", "ID": "0123456789ab", "Name": "web", "CPUPerc": "50.00%", "MemUsage": "8MiB / 64MiB",
		"MemPerc": "12.50%", "NetIO": "1.5kB / 100B", "BlockIO": "1.02kB / 2.05kB", "PIDs": "3",
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s = %q, want %q", k, got[k], want[k])
		}
	}
	if (statsRow{s: s, noTrunc: true}).ID() != "0123456789abcdef0123" {
		t.Error("--no-trunc cut the id")
	}

	// A stopped container: docker's zero figures; a reading without
	// networks of its own (--network host) shows --.
	zero := statsRow{s: container.StatsResponse{ID: "x", Name: "/x"}}
	if zero.CPUPerc() != "0.00%" || zero.MemUsage() != "0B / 0B" || zero.MemPerc() != "0.00%" || zero.NetIO() != "0B / 0B" ||
		zero.BlockIO() != "0B / 0B" || zero.PIDs() != "0" {
		t.Errorf("stopped: %s %s %s %s %s %s", zero.CPUPerc(), zero.MemUsage(), zero.MemPerc(), zero.NetIO(), zero.BlockIO(), zero.PIDs())
	}
	s.Networks = nil
	if got := (statsRow{s: s}).NetIO(); got != "--" {
		t.Errorf("host network: NetIO %q, want --", got)
	}
}
