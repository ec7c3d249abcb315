package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/systemd"
	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs2"
)

// cgroupRoot is where the unified cgroup hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// clockTicks is USER_HZ, the unit of /proc/stat's figures (100 on every
// Linux architecture berth runs on, as docker assumes).
const clockTicks = 100

// scopeLimits reads a scope's MemoryMax= and TasksMax= (systemd.Units
// does); without it, only the cgroup's own limits count.
type scopeLimits interface {
	ScopeLimits(ctx context.Context, name string) (systemd.Limits, error)
}

// statsPrev is a container's last reading, for the next one's precpu.
type statsPrev struct {
	run  string
	read time.Time
	cpu  containertypes.CPUStats
}

// Stats takes one reading of a container's resources, in docker's shape
// (containertypes.StatsResponse, as GET /containers/{id}/stats serves it):
// CPU from the cgroup's cpu.stat with the host's /proc/stat as
// system_cpu_usage, memory (usage, limit, memory.stat), pids and block
// I/O from the container's cgroup (<scope>/container) through runc's
// cgroup library, the limits also from the scope's MemoryMax= and
// TasksMax=, and the network interfaces of a private network namespace
// (/proc/<pid>/net/dev of the payload; none with --network host, whose
// interfaces are the host's). Figures a kernel without the controller
// does not keep stay zero. PreRead and PreCPUStats are this Manager's
// previous reading of the same run, if any (zero otherwise), so that a
// caller reading once a second gets docker's deltas.
//
// A container that is not running or paused gives docker's zero figures
// (only ID and Name set) and no error, also when it stops during the
// reading. An unknown container is errs.NoSuchContainer. Safe for
// concurrent use.
func (m *Manager) Stats(ctx context.Context, ref string) (containertypes.StatsResponse, error) {
	info, err := m.Get(ref)
	if err != nil {
		return containertypes.StatsResponse{}, err
	}
	st := containertypes.StatsResponse{ID: info.ID, Name: "/" + info.Name, OSType: "linux"}
	if (info.State != Running && info.State != Paused) || info.Run == nil {
		return st, nil
	}
	run := info.Run.ID + strconv.Itoa(info.Run.Seq)
	cg, err := m.units.ControlGroup(ctx, info.Run.Unit)
	if err != nil {
		if errdefs.IsNotFound(err) || !m.live(ref, run) {
			return st, nil
		}
		return containertypes.StatsResponse{}, fmt.Errorf("container %s: %w", info.Name, err)
	}
	dir := filepath.Join(cgroupRoot, cg, "container")
	read := time.Now().UTC()
	mgr, err := fs2.NewManager(&cgroups.Cgroup{}, dir)
	if err != nil {
		return containertypes.StatsResponse{}, fmt.Errorf("container %s: %w", info.Name, err)
	}
	cs, err := mgr.GetStats()
	if err != nil {
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) || !m.live(ref, run) {
			return st, nil // ended meanwhile
		}
		return containertypes.StatsResponse{}, fmt.Errorf("container %s: cgroup %s: %w", info.Name, dir, err)
	}
	sys, online, err := systemCPU()
	if err != nil {
		return containertypes.StatsResponse{}, err
	}
	var limits systemd.Limits
	if u, ok := m.units.(scopeLimits); ok {
		limits, _ = u.ScopeLimits(ctx, info.Run.Unit) // zero when unknown: no limit
	}
	hostMem, _ := hostMemory()

	st.Read = read
	st.CPUStats = containertypes.CPUStats{
		CPUUsage: containertypes.CPUUsage{
			TotalUsage:        cs.CpuStats.CpuUsage.TotalUsage,
			UsageInKernelmode: cs.CpuStats.CpuUsage.UsageInKernelmode,
			UsageInUsermode:   cs.CpuStats.CpuUsage.UsageInUsermode,
		},
		SystemUsage: sys,
		OnlineCPUs:  online,
		ThrottlingData: containertypes.ThrottlingData{
			Periods:          cs.CpuStats.ThrottlingData.Periods,
			ThrottledPeriods: cs.CpuStats.ThrottlingData.ThrottledPeriods,
			ThrottledTime:    cs.CpuStats.ThrottlingData.ThrottledTime,
		},
	}
	st.MemoryStats = containertypes.MemoryStats{
		Usage:    cs.MemoryStats.Usage.Usage,
		MaxUsage: cs.MemoryStats.Usage.MaxUsage,
		Stats:    cs.MemoryStats.Stats,
		Failcnt:  cs.MemoryStats.Usage.Failcnt,
		Limit:    lowestLimit(cs.MemoryStats.Usage.Limit, limits.MemoryMax, hostMem),
	}
	if len(st.MemoryStats.Stats) == 0 {
		st.MemoryStats.Stats = nil
	}
	st.PidsStats = containertypes.PidsStats{
		Current: cs.PidsStats.Current,
		Limit:   lowestLimit(cs.PidsStats.Limit, limits.TasksMax),
	}
	for _, e := range cs.BlkioStats.IoServiceBytesRecursive {
		st.BlkioStats.IoServiceBytesRecursive = append(st.BlkioStats.IoServiceBytesRecursive,
			containertypes.BlkioStatEntry{Major: e.Major, Minor: e.Minor, Op: strings.ToLower(e.Op), Value: e.Value})
	}
	for _, e := range cs.BlkioStats.IoServicedRecursive {
		st.BlkioStats.IoServicedRecursive = append(st.BlkioStats.IoServicedRecursive,
			containertypes.BlkioStatEntry{Major: e.Major, Minor: e.Minor, Op: strings.ToLower(e.Op), Value: e.Value})
	}
	if info.Spec.Network != "host" && info.Pid > 0 {
		nets, err := payloadNetworks(info.Pid, cg)
		if err != nil {
			if !m.live(ref, run) {
				return containertypes.StatsResponse{ID: st.ID, Name: st.Name, OSType: st.OSType}, nil
			}
			return containertypes.StatsResponse{}, fmt.Errorf("container %s: %w", info.Name, err)
		}
		st.Networks = nets
	}

	m.statsMu.Lock()
	if p, ok := m.statsPrev[info.ID]; ok && p.run == run && p.read.Before(read) {
		st.PreRead, st.PreCPUStats = p.read, p.cpu
	}
	m.statsPrev[info.ID] = statsPrev{run: run, read: read, cpu: st.CPUStats}
	m.statsMu.Unlock()
	return st, nil
}

// live reports whether the container ref still runs the run run.
func (m *Manager) live(ref, run string) bool {
	info, err := m.Get(ref)
	return err == nil && info.Run != nil && info.Run.ID+strconv.Itoa(info.Run.Seq) == run &&
		(info.State == Running || info.State == Paused)
}

// lowestLimit is the smallest of the limits that are set (neither 0 nor
// math.MaxUint64, the kernel's and systemd's "max"), 0 if none is.
func lowestLimit(limits ...uint64) uint64 {
	var low uint64
	for _, l := range limits {
		if l != 0 && l != math.MaxUint64 && (low == 0 || l < low) {
			low = l
		}
	}
	return low
}

// systemCPU reads /proc/stat: the host's CPU time in nanoseconds (the
// sum of the first line's user, nice, system, idle, iowait, irq and
// softirq, as docker's system_cpu_usage) and the number of online CPUs.
func systemCPU() (total uint64, online uint32, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseProcStat(f)
}

// parseProcStat reads /proc/stat's format (see systemCPU).
func parseProcStat(r io.Reader) (total uint64, online uint32, err error) {
	sc := bufio.NewScanner(r)
	found := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "cpu") {
			continue
		}
		if fields[0] != "cpu" {
			if _, err := strconv.Atoi(fields[0][3:]); err == nil {
				online++
			}
			continue
		}
		if len(fields) < 8 {
			return 0, 0, fmt.Errorf("/proc/stat: short cpu line %q", sc.Text())
		}
		var ticks uint64
		for _, s := range fields[1:8] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat: cpu line %q: %w", sc.Text(), err)
			}
			ticks += v
		}
		total = ticks * (uint64(time.Second) / clockTicks)
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !found {
		return 0, 0, errors.New("/proc/stat: no cpu line")
	}
	return total, online, nil
}

// hostMemory is MemTotal of /proc/meminfo in bytes: docker's limit of a
// container without one.
func hostMemory() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("/proc/meminfo: no MemTotal")
}

// payloadNetworks reads the interfaces of the network namespace of pid,
// which must be in the cgroup cg (or one below it): a pid reused by
// another process after the payload exited is not read.
func payloadNetworks(pid int, cg string) (map[string]containertypes.NetworkStats, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil, fmt.Errorf("payload %d: %w", pid, err)
	}
	own := "0::" + filepath.Join(cg, "container")
	inside := false
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		inside = inside || line == own || strings.HasPrefix(line, own+"/")
	}
	if !inside {
		return nil, fmt.Errorf("payload %d is not in the container's cgroup: %w", pid, errdefs.ErrNotFound)
	}
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		return nil, fmt.Errorf("payload %d: %w", pid, err)
	}
	defer f.Close()
	return parseNetDev(f)
}

// parseNetDev reads /proc/net/dev: two header lines, then one line per
// interface, "name: " and 8 receive and 8 transmit counters.
func parseNetDev(r io.Reader) (map[string]containertypes.NetworkStats, error) {
	nets := map[string]containertypes.NetworkStats{}
	sc := bufio.NewScanner(r)
	for n := 0; sc.Scan(); n++ {
		if n < 2 {
			continue
		}
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			return nil, fmt.Errorf("net/dev: line %q: no interface name", sc.Text())
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return nil, fmt.Errorf("net/dev: line %q: %d counters, want 16", sc.Text(), len(f))
		}
		var v [16]uint64
		for i := range v {
			var err error
			if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				return nil, fmt.Errorf("net/dev: line %q: %w", sc.Text(), err)
			}
		}
		nets[strings.TrimSpace(name)] = containertypes.NetworkStats{
			RxBytes: v[0], RxPackets: v[1], RxErrors: v[2], RxDropped: v[3],
			TxBytes: v[8], TxPackets: v[9], TxErrors: v[10], TxDropped: v[11],
		}
	}
	return nets, sc.Err()
}
