package main

import (
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// healthFlags are docker's healthcheck options of run and create, and
// podman's --health-on-failure.
type healthFlags struct {
	cmd, onFailure                                string
	interval, timeout, startPeriod, startInterval time.Duration
	retries                                       int
	none                                          bool
	fs                                            *pflag.FlagSet
}

func (f *healthFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.cmd, "health-cmd", "", "Command to run to check health (run by /bin/sh -c in the container)")
	fs.DurationVar(&f.interval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 30s)")
	fs.DurationVar(&f.timeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 30s)")
	fs.IntVar(&f.retries, "health-retries", 0, "Consecutive failures needed to report unhealthy (default 3)")
	fs.DurationVar(&f.startPeriod, "health-start-period", 0, "Start period for the container to initialize before failures count (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.startInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 5s)")
	fs.BoolVar(&f.none, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.StringVar(&f.onFailure, "health-on-failure", "", "Action when the container becomes unhealthy: none, kill, restart or stop")
}

// healthDurationFlags are the flags that CreateContainer takes in
// nanoseconds, by option name.
var healthDurationFlags = map[string]string{
	"health-interval": "health_interval", "health-timeout": "health_timeout",
	"health-start-period": "health_start_period", "health-start-interval": "health_start_interval",
}

// addOptions puts the healthcheck flags given into o. As docker's CLI,
// --no-healthcheck with any --health-* option and negative values are
// refused here; berthd checks the rest (below 1 ms).
func (f *healthFlags) addOptions(o map[string]dbus.Variant) error {
	changed := func(name string) bool { return f.fs != nil && f.fs.Changed(name) }
	given := ""
	for _, n := range []string{"health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period", "health-start-interval"} {
		if changed(n) && given == "" {
			given = n
		}
	}
	if f.none {
		if given != "" {
			return fmt.Errorf("--no-healthcheck conflicts with --%s", given)
		}
		o["no_healthcheck"] = dbus.MakeVariant(true)
	}
	if f.cmd != "" {
		o["health_test"] = dbus.MakeVariant([]string{"CMD-SHELL", f.cmd})
	} else if changed("health-cmd") {
		return fmt.Errorf("--health-cmd: empty command")
	}
	durations := map[string]time.Duration{"health-interval": f.interval, "health-timeout": f.timeout, "health-start-period": f.startPeriod, "health-start-interval": f.startInterval}
	for flag, opt := range healthDurationFlags {
		if !changed(flag) {
			continue
		}
		if durations[flag] < 0 {
			return fmt.Errorf("--%s %v: cannot be negative", flag, durations[flag])
		}
		o[opt] = dbus.MakeVariant(int64(durations[flag]))
	}
	if changed("health-retries") {
		if f.retries < 0 {
			return fmt.Errorf("--health-retries %d: cannot be negative", f.retries)
		}
		o["health_retries"] = dbus.MakeVariant(int32(f.retries))
	}
	putString(o, "health_on_failure", f.onFailure)
	return nil
}

// healthcheckCommand is podman's healthcheck run: one check of a running
// container at once; it prints the status after it and exits 1 when the
// check failed.
func healthcheckCommand(cl *client) *cobra.Command {
	c := &cobra.Command{Use: "healthcheck", Short: "Run a container's healthcheck", Args: noArgs}
	c.AddCommand(&cobra.Command{
		Use:               "run CONTAINER",
		Short:             "Run the healthcheck of a running container now",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(cl, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			var status, output string
			var code int32
			var start, end uint64
			if err := cl.call("RunContainerHealthcheck", []any{&status, &code, &output, &start, &end}, args[0], map[string]dbus.Variant{}); err != nil {
				return err
			}
			fmt.Println(status)
			if code != 0 {
				return &statusError{code: 1}
			}
			return nil
		},
	})
	return c
}
