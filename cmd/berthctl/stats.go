package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/errs"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

type statsFlags struct {
	all, noStream, noTrunc bool
	format                 string
}

func statsCommand(cl *client) *cobra.Command {
	var f statsFlags
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of containers' resource usage",
		Long: "Display containers' resource usage, refreshed every second (--no-stream: once), as docker stats: " +
			"CPU % (between two readings a second apart), memory usage (without inactive file cache) and limit " +
			"(the host's memory when the container has none), network I/O of the container's own network namespace " +
			"(-- with --network host, whose interfaces are the host's), block I/O and PIDs, from the container's cgroup.\n\n" +
			"Without containers, the running ones (-a: all), and live mode follows containers coming and going; " +
			"with containers, the stream ends when all of them are removed.\n\n" +
			"--format takes a Go template with docker's fields (.Container .ID .Name .CPUPerc .MemUsage .MemPerc " +
			".NetIO .BlockIO .PIDs); a \"table\" prefix prints aligned columns with a header; --format json prints " +
			"one JSON object per container.",
		ValidArgsFunction: completeContainers(cl, true),
		RunE:              func(cmd *cobra.Command, args []string) error { return stats(cl, &f, args, os.Stdout) },
	}
	fs := cmd.Flags()
	fs.BoolVarP(&f.all, "all", "a", false, "Show all containers (default: running ones)")
	fs.BoolVar(&f.noStream, "no-stream", false, "Print one reading and exit")
	fs.BoolVar(&f.noTrunc, "no-trunc", false, "Do not truncate ids")
	fs.StringVar(&f.format, "format", "", "table (default), json, or a Go template (\"table ...\" for columns)")
	return cmd
}

const statsDefaultTable = `table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}`

var statsHeaders = map[string]string{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
	"MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// clearScreen moves the cursor home and clears the terminal, as docker
// stats does before each refresh.
const clearScreen = "\033[2J\033[H"

func stats(cl *client, f *statsFlags, refs []string, out io.Writer) error {
	format := f.format
	if format == "" || format == "table" {
		format = statsDefaultTable
	}
	var tmpl *formatTemplate
	if format != "json" {
		var err error
		if tmpl, err = parseTemplate(format); err != nil {
			return usagef("--format: %w", err)
		}
	}
	named := len(refs) > 0
	// The names in the order given; without any, the listed containers.
	targets := refs
	gone := map[string]bool{}
	for frame := 0; ; frame++ {
		if !named {
			list, err := cl.list(f.all)
			if err != nil {
				return err
			}
			targets = targets[:0:0]
			for _, e := range list {
				targets = append(targets, e.ID)
			}
		}
		// --no-stream reads twice, a second apart, so that CPU % is
		// the last second's (berthd's previous reading is precpu).
		if f.noStream {
			for _, ref := range targets {
				cl.stats(ref) // errors show in the reading that counts
			}
			time.Sleep(time.Second)
		}
		var rows []any
		for _, ref := range targets {
			if gone[ref] {
				continue
			}
			st, err := cl.stats(ref)
			switch {
			case err != nil && !named && errors.Is(contract.FromDBus(err), errs.NoSuchContainer):
				continue // removed since the list
			case err != nil && named && frame > 0 && errors.Is(contract.FromDBus(err), errs.NoSuchContainer):
				gone[ref] = true // removed mid-stream: its row goes
				continue
			case err != nil:
				return err
			}
			label := ref
			if !named {
				label = st.ID
			}
			rows = append(rows, statsRow{s: st, container: label, noTrunc: f.noTrunc})
		}
		if named && len(gone) == len(targets) {
			return nil // every container named is gone: the stream ends
		}
		var b bytes.Buffer
		if !f.noStream {
			b.WriteString(clearScreen)
		}
		if format == "json" {
			for _, r := range rows {
				j, _ := json.Marshal(r)
				b.Write(j)
				b.WriteByte('\n')
			}
		} else if err := tmpl.write(&b, statsHeaders, rows); err != nil {
			return err
		}
		if _, err := out.Write(b.Bytes()); err != nil {
			return err
		}
		if f.noStream {
			return nil
		}
		time.Sleep(time.Second)
	}
}

// stats takes one reading of a container (GetContainerStats).
func (c *client) stats(ref string) (container.StatsResponse, error) {
	var s string
	var st container.StatsResponse
	if err := c.call("GetContainerStats", []any{&s}, ref); err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("stats of %s: %w", ref, err)
	}
	return st, nil
}

// statsRow is one container as stats templates see it: docker's fields,
// computed as docker's CLI computes them from a reading.
type statsRow struct {
	s         container.StatsResponse
	container string
	noTrunc   bool
}

func (r statsRow) Container() string { return r.container }
func (r statsRow) Name() string      { return strings.TrimPrefix(r.s.Name, "/") }
func (r statsRow) ID() string {
	if r.noTrunc || len(r.s.ID) < 12 {
		return r.s.ID
	}
	return r.s.ID[:12]
}
func (r statsRow) CPUPerc() string { return fmt.Sprintf("%.2f%%", cpuPercent(r.s)) }
func (r statsRow) MemUsage() string {
	return units.BytesSize(float64(memUsage(r.s.MemoryStats))) + " / " + units.BytesSize(float64(r.s.MemoryStats.Limit))
}
func (r statsRow) MemPerc() string {
	if r.s.MemoryStats.Limit == 0 {
		return "0.00%"
	}
	return fmt.Sprintf("%.2f%%", float64(memUsage(r.s.MemoryStats))/float64(r.s.MemoryStats.Limit)*100)
}

// NetIO is "--" when the reading has no network figures of its own
// (--network host: the interfaces are the host's).
func (r statsRow) NetIO() string {
	if r.s.Networks == nil && !r.s.Read.IsZero() {
		return "--"
	}
	var rx, tx uint64
	for _, n := range r.s.Networks {
		rx += n.RxBytes
		tx += n.TxBytes
	}
	return units.HumanSizeWithPrecision(float64(rx), 3) + " / " + units.HumanSizeWithPrecision(float64(tx), 3)
}
func (r statsRow) BlockIO() string {
	var rd, wr uint64
	for _, e := range r.s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			rd += e.Value
		case "write":
			wr += e.Value
		}
	}
	return units.HumanSizeWithPrecision(float64(rd), 3) + " / " + units.HumanSizeWithPrecision(float64(wr), 3)
}
func (r statsRow) PIDs() string { return fmt.Sprint(r.s.PidsStats.Current) }

// MarshalJSON is docker's --format json object.
func (r statsRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Container": r.Container(), "ID": r.ID(), "Name": r.Name(), "CPUPerc": r.CPUPerc(), "MemUsage": r.MemUsage(),
		"MemPerc": r.MemPerc(), "NetIO": r.NetIO(), "BlockIO": r.BlockIO(), "PIDs": r.PIDs(),
	})
}

// cpuPercent is docker's: the container's CPU time over the host's
// between the previous reading and this one, times the online CPUs; 0
// without a previous reading.
func cpuPercent(s container.StatsResponse) float64 {
	if s.PreRead.IsZero() || s.PreCPUStats.SystemUsage == 0 {
		return 0
	}
	cpu := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	sys := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	online := float64(s.CPUStats.OnlineCPUs)
	if online == 0 {
		online = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if sys <= 0 || cpu <= 0 {
		return 0
	}
	return cpu / sys * online * 100
}

// memUsage is docker's: usage without the inactive file cache (cgroup
// v2's inactive_file, v1's total_inactive_file).
func memUsage(m container.MemoryStats) uint64 {
	if v, ok := m.Stats["total_inactive_file"]; ok && v < m.Usage {
		return m.Usage - v
	}
	if v := m.Stats["inactive_file"]; v < m.Usage {
		return m.Usage - v
	}
	return m.Usage
}
