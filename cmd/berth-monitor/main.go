// Command berth-monitor supervises one run of one container. berthd starts
// it; see package monitor.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/berthd/berth/monitor"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: berth-monitor MONITOR.JSON (started by berthd, with the start pipe as fd 3)")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
		os.Exit(1)
	}
	var cfg monitor.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", os.Args[1], err)
		os.Exit(1)
	}
	if cfg.Version > monitor.FormatVersion {
		fmt.Fprintf(os.Stderr, "berth-monitor: %s: format version %d is newer than %d\n", os.Args[1], cfg.Version, monitor.FormatVersion)
		os.Exit(1)
	}
	os.Exit(monitor.Run(cfg, os.NewFile(3, "start")))
}
