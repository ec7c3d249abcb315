package lifecycle

import (
	"time"
)

// RecordVersion is the format version of container.json.
const RecordVersion = 1

// Spec is what the user asked for when creating a container.
type Spec struct {
	Image      string   `json:"image,omitempty"`
	ImageID    string   `json:"image_id,omitempty"`
	Layers     []string `json:"layers,omitempty"` // unpacked image layers, lowest first
	Rootfs     string   `json:"rootfs"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd"`
	Env        []string `json:"env,omitempty"`
	Workdir    string   `json:"workdir,omitempty"`
	User       string   `json:"user,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	Network    string   `json:"network,omitempty"`
	Runtime    string   `json:"runtime,omitempty"`
	TTY        bool     `json:"tty,omitempty"`
	// ConsoleSize is the TTY's [height, width] when the payload starts
	// (zero: the runtime's default); a client resizes it later.
	ConsoleSize     [2]uint `json:"console_size,omitzero"`
	Stdin           bool    `json:"stdin,omitempty"`
	AutoRemove      bool    `json:"auto_remove,omitempty"`
	NoNewPrivileges bool    `json:"no_new_privileges,omitempty"`
	StopSignal      string  `json:"stop_signal,omitempty"`
	StopTimeout     *int    `json:"stop_timeout,omitempty"`
	Memory          uint64  `json:"memory,omitempty"`
	NanoCPUs        uint64  `json:"nano_cpus,omitempty"`
	CPUShares       uint64  `json:"cpu_shares,omitempty"`
	PidsLimit       uint64  `json:"pids_limit,omitempty"`
}

// Run is one start of a container: what it was resolved to at that moment.
// Every runtime call of the run uses RuntimePath, whatever the config says
// later.
type Run struct {
	ID          int       `json:"id"`
	RuntimeName string    `json:"runtime_name"`
	RuntimePath string    `json:"runtime_path"`
	RuntimeRoot string    `json:"runtime_root"`
	Unit        string    `json:"unit"`
	RunDir      string    `json:"run_dir"`
	MonitorPID  int       `json:"monitor_pid"`
	BootID      string    `json:"boot_id"`
	StartedAt   time.Time `json:"started_at"`
}

// Record is container.json.
type Record struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	Spec       Spec      `json:"spec"`
	State      State     `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	ExitCode   int       `json:"exit_code"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Run        *Run      `json:"run,omitempty"`
	// Stopped is set when the user stopped the container (for restart
	// policies: unless-stopped).
	Stopped bool `json:"stopped,omitempty"`
}

// Info is a copy of a container's record, safe to hand out.
type Info struct {
	Record
}

// Unit returns the scope of the container (also when it is not running).
func (i Info) Unit() string { return UnitName(i.ID) }

// StartedAt is the start time of the last run, zero if never started.
func (i Info) StartedAt() time.Time {
	if i.Run == nil {
		return time.Time{}
	}
	return i.Run.StartedAt
}

// RuntimeName is the runtime of the last run, or the one asked for.
func (i Info) RuntimeName() string {
	if i.Run != nil {
		return i.Run.RuntimeName
	}
	return i.Spec.Runtime
}

// UnitName is the scope unit of a container.
func UnitName(id string) string { return "berth-" + id + ".scope" }
