// Command berth-monitor supervises one run of one container. berthd starts
// it; see package monitor.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/berthd/berth/monitor"
	"github.com/berthd/berth/monitor/contract"
)

func main() {
	if rt := os.Getenv(monitor.ExecRuntimeEnv); rt != "" {
		err := monitor.RunExecWrapper(rt)
		fmt.Fprintln(os.Stderr, "berth-monitor: runtime exec:", err)
		os.Exit(125)
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: berth-monitor MONITOR.JSON (started by berthd, with the start pipe as fd 3)")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
		os.Exit(1)
	}
	var cfg contract.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", os.Args[1], err)
		os.Exit(1)
	}
	if cfg.Version > contract.FormatVersion {
		fmt.Fprintf(os.Stderr, "berth-monitor: %s: format version %d is newer than %d\n", os.Args[1], cfg.Version, contract.FormatVersion)
		os.Exit(1)
	}
	os.Exit(monitor.Run(context.Background(), cfg, os.NewFile(3, "start")))
}
