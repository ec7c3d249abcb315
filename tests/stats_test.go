//go:build e2e

package tests

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsJSON is the part of docker's StatsResponse the tests look at.
type statsJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Read        time.Time
	PreRead     time.Time `json:"preread"`
	MemoryStats struct {
		Limit uint64 `json:"limit"`
	} `json:"memory_stats"`
	PidsStats struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids_stats"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		SystemUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs  uint32 `json:"online_cpus"`
	} `json:"cpu_stats"`
	Networks map[string]struct {
		RxBytes uint64 `json:"rx_bytes"`
		TxBytes uint64 `json:"tx_bytes"`
	} `json:"networks"`
}

// busStats reads GetContainerStats over the bus, as the Engine API will.
func busStats(t *testing.T, ref string) statsJSON {
	t.Helper()
	out := must(t, "busctl --json=short call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainerStats s "+ref)
	var reply struct{ Data []string }
	if err := json.Unmarshal([]byte(out), &reply); err != nil || len(reply.Data) != 1 {
		t.Fatalf("GetContainerStats reply %q: %v", out, err)
	}
	var st statsJSON
	if err := json.Unmarshal([]byte(reply.Data[0]), &st); err != nil {
		t.Fatalf("stats JSON %q: %v", reply.Data[0], err)
	}
	return st
}

// TestStats reads a container's figures from its cgroup, the scope's
// limits and its network namespace, in docker's shape and columns.
func TestStats(t *testing.T) {
	fresh(t)
	busy := runDetached(t, "--name st-busy -m 64m --pids-limit 50 -- sh -c 'sleep 300 & sleep 301 & while :; do :; done'")
	idle := runDetached(t, "--name st-idle -- sh -c 'nc -w 1 127.0.0.1 1 </dev/null; sleep 300'")
	runDetached(t, "--name st-host --network host -- sleep 300")
	must(t, "berthctl create --name st-stopped --rootfs "+rootfs+" -- true")

	// The API shape: ids, the scope's limits, the cgroup's pids, CPU
	// time and the host's.
	st := busStats(t, "st-busy")
	if st.ID != busy || st.Name != "/st-busy" {
		t.Errorf("id %q name %q", st.ID, st.Name)
	}
	if st.MemoryStats.Limit != 64<<20 {
		t.Errorf("memory limit %d, want 64 MiB (MemoryMax)", st.MemoryStats.Limit)
	}
	if st.PidsStats.Current != 3 || st.PidsStats.Limit != 50 {
		t.Errorf("pids %d limit %d, want 3 and 50", st.PidsStats.Current, st.PidsStats.Limit)
	}
	if st.CPUStats.CPUUsage.TotalUsage == 0 || st.CPUStats.SystemUsage == 0 || st.CPUStats.OnlineCPUs == 0 {
		t.Errorf("cpu stats %+v", st.CPUStats)
	}
	// The second reading's precpu is the first.
	st2 := busStats(t, "st-busy")
	if !st2.PreRead.Equal(st.Read) {
		t.Errorf("preread %v, want the previous read %v", st2.PreRead, st.Read)
	}

	// The loop keeps one CPU busy: docker's CPU % is about 100.
	out := must(t, "berthctl stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}' st-busy")
	f := strings.Fields(out)
	if len(f) != 6 || f[0] != "st-busy" || f[4] != "64MiB" || f[5] != "3" {
		t.Fatalf("stats st-busy: %q", out)
	}
	if cpu, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64); err != nil || cpu < 50 || cpu > 150 {
		t.Errorf("CPU %s of a busy loop, want about 100%%", f[1])
	}

	// The private network namespace: lo saw the refused connection, and
	// the figures are the namespace's own.
	eventually(t, 10*time.Second, "berthctl exec st-idle cat /proc/net/dev | grep -q 'lo: *[1-9]'")
	inside := must(t, "berthctl exec st-idle awk '$1 == \"lo:\" {print $2}' /proc/net/dev")
	if st := busStats(t, "st-idle"); strconv.FormatUint(st.Networks["lo"].RxBytes, 10) != inside {
		t.Errorf("lo rx %d, the container reads %q", st.Networks["lo"].RxBytes, inside)
	}
	if st := busStats(t, "st-host"); st.Networks != nil {
		t.Errorf("--network host: networks %v, want none (the host's interfaces are not the container's)", st.Networks)
	}

	// The default table: running containers, docker's columns; -a adds
	// the stopped one with docker's zero figures; host network shows --.
	out = must(t, "berthctl stats --no-stream")
	lines := strings.Split(out, "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS" || len(lines) != 4 {
		t.Fatalf("stats --no-stream:\n%s", out)
	}
	if !strings.Contains(out, busy[:12]+"   st-busy") || !strings.Contains(out, idle[:12]) || strings.Contains(out, "st-stopped") {
		t.Errorf("stats --no-stream rows:\n%s", out)
	}
	if !regexp.MustCompile(`st-host +[0-9.]+% +[^ ]+ / [^ ]+ +[0-9.]+% +-- +`).MatchString(out) {
		t.Errorf("host network row has no --:\n%s", out)
	}
	out = must(t, "berthctl stats --no-stream -a --no-trunc --format '{{.ID}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}' | grep st-stopped")
	if f := strings.Fields(out); len(f) != 14 || len(f[0]) != 64 || strings.Join(f[2:], " ") != "0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0" {
		t.Errorf("a stopped container: %q", out)
	}
	if st := busStats(t, "st-stopped"); st.Name != "/st-stopped" || !st.Read.IsZero() || st.PidsStats.Current != 0 {
		t.Errorf("a stopped container's reading: %+v", st)
	}

	// Live mode: the screen is cleared before each refresh; the stream
	// ends (exit 0) once the container named is removed.
	must(t, "(berthctl stats st-idle > /tmp/stats.out 2>&1; echo $? > /tmp/stats.rc) </dev/null >/dev/null 2>&1 &")
	eventually(t, 10*time.Second, "[ $(grep -c st-idle /tmp/stats.out) -ge 2 ]")
	must(t, "berthctl rm -f st-idle")
	if rc := eventually(t, 10*time.Second, "cat /tmp/stats.rc"); rc != "0" {
		t.Errorf("stats of a removed container ended with %s: %s", rc, must(t, "cat /tmp/stats.out"))
	}
	if out := must(t, "cat /tmp/stats.out"); !strings.Contains(out, "\033[2J\033[H") {
		t.Errorf("live output does not clear the screen: %q", out)
	}

	for _, tc := range []struct{ args, want string }{
		{"--no-stream nosuch", `"nosuch": no such container`},
		{"--no-stream --format '{{.Nope' st-busy", "--format"},
	} {
		if msg := fails(t, "berthctl stats "+tc.args); !strings.Contains(msg, tc.want) {
			t.Errorf("stats %s: %q, want %q", tc.args, msg, tc.want)
		}
	}
	must(t, "berthctl rm -f st-busy st-host st-stopped")
}
