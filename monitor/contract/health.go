package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Healthcheck is a run's healthcheck as the monitor carries it out:
// docker's HealthConfig with its defaults applied and its test turned into
// the argument list to exec (CMD-SHELL already as /bin/sh -c).
type Healthcheck struct {
	Cmd           []string      `json:"cmd"`
	Interval      time.Duration `json:"interval"`       // between checks
	Timeout       time.Duration `json:"timeout"`        // a check running longer is killed and fails
	StartPeriod   time.Duration `json:"start_period"`   // failures in it do not count
	StartInterval time.Duration `json:"start_interval"` // between checks during the start period
	Retries       int           `json:"retries"`        // consecutive failures that make it unhealthy
	// OnFailure is what the monitor does when the container becomes
	// unhealthy (podman's --health-on-failure): HealthActionNone, Kill,
	// Restart or Stop.
	OnFailure string `json:"on_failure,omitempty"`
}

// Health statuses, docker's words.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// The actions on becoming unhealthy (podman's --health-on-failure).
const (
	HealthActionNone    = "none"
	HealthActionKill    = "kill"
	HealthActionRestart = "restart"
	HealthActionStop    = "stop"
)

// MaxHealthLog is how many results Health keeps (docker's), and
// MaxHealthOutput how many bytes of a check's output each keeps.
const (
	MaxHealthLog    = 5
	MaxHealthOutput = 4 << 10
)

// HealthResult is one check: docker's HealthcheckResult.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// Health is the health state of a container (health.json in its
// directory, written atomically by the monitor after every check), in
// docker's shape plus the run it belongs to.
type Health struct {
	Version       int            `json:"version"`
	Run           string         `json:"run,omitempty"`
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthPath is the health state file of a container.
func HealthPath(containerDir string) string { return filepath.Join(containerDir, "health.json") }

// ReadHealth reads a container's health state; an error wrapping
// os.ErrNotExist means no check has state yet.
func ReadHealth(containerDir string) (*Health, error) {
	b, err := os.ReadFile(HealthPath(containerDir))
	if err != nil {
		return nil, err
	}
	var h Health
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("health state %s: %w", HealthPath(containerDir), err)
	}
	if h.Version > FormatVersion {
		return nil, fmt.Errorf("health state %s: format version %d is newer than %d", HealthPath(containerDir), h.Version, FormatVersion)
	}
	return &h, nil
}

// HealthNotice tells a running berthd on notify.sock that a container's
// health status changed (berthd then signals it). It names the container
// with "container", never "id", so that a berthd that knows no health
// notice skips it rather than taking it for an exit notice.
type HealthNotice struct {
	Version   int    `json:"version"`
	Container string `json:"container"`
	Run       string `json:"run"`
	Secret    string `json:"secret"`
	Status    string `json:"status"`
}
