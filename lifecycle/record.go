package lifecycle

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/ocispec"
)

// RecordVersion is the format version of container.json. Version 2 names
// runs uniquely (Run.ID instead of a per-container counter), records the
// run a start is launching (Next) and its monitor's secret; a version 1
// record is read as it was written (its run's counter is Run.Seq).
const RecordVersion = 2

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
	// Binds are docker's -v values as given (HOST:CTR[:MODE],
	// NAME:CTR[:MODE], CTR), Mounts its --mount values, Tmpfs its --tmpfs
	// (target → options) and Volumes the image's VOLUME entries.
	Binds   []string          `json:"binds,omitempty"`
	Mounts  []Mount           `json:"mounts,omitempty"`
	Tmpfs   map[string]string `json:"tmpfs,omitempty"`
	Volumes []string          `json:"volumes,omitempty"`
	// MountPoints are all of these as resolved at create (volume names
	// and paths filled in), in mount order.
	MountPoints []MountPoint `json:"mount_points,omitempty"`

	// Docker's everyday run options, named after its HostConfig and
	// Config fields (see options.go for what each accepts).
	Labels         map[string]string `json:"labels,omitempty"`
	ReadonlyRootfs bool              `json:"readonly_rootfs,omitempty"`
	CapAdd         []string          `json:"cap_add,omitempty"`
	CapDrop        []string          `json:"cap_drop,omitempty"`
	Privileged     bool              `json:"privileged,omitempty"`
	Devices        []ocispec.Device  `json:"devices,omitempty"`
	Ulimits        []ocispec.Ulimit  `json:"ulimits,omitempty"`
	Init           bool              `json:"init,omitempty"`
	ShmSize        uint64            `json:"shm_size,omitempty"`    // bytes; 0: 64 MiB
	ExtraHosts     []string          `json:"extra_hosts,omitempty"` // "host:ip", for /etc/hosts
	DNS            []string          `json:"dns,omitempty"`         // for /etc/resolv.conf
	DNSSearch      []string          `json:"dns_search,omitempty"`
	DNSOptions     []string          `json:"dns_options,omitempty"`
	GroupAdd       []string          `json:"group_add,omitempty"`
	Sysctls        map[string]string `json:"sysctls,omitempty"`
	SecurityOpt    []string          `json:"security_opt,omitempty"`
	PidMode        string            `json:"pid_mode,omitempty"` // "", host or container:ID
	IpcMode        string            `json:"ipc_mode,omitempty"` // "" (private), private, shareable, host, none or container:ID
	OomScoreAdj    int               `json:"oom_score_adj,omitempty"`

	// Networking, as docker's NetworkingConfig.EndpointsConfig (network
	// name → aliases and address asked for; the Network mode's own
	// entry included), HostConfig.PortBindings and PublishAllPorts, and
	// Config.ExposedPorts ("80/tcp": the image's EXPOSE, --expose and
	// the ports of -p).
	Endpoints       map[string]network.EndpointConfig `json:"endpoints,omitempty"`
	PortBindings    network.PortMap                   `json:"port_bindings,omitempty"`
	PublishAllPorts bool                              `json:"publish_all_ports,omitempty"`
	ExposedPorts    []string                          `json:"exposed_ports,omitempty"`

	// Healthcheck is docker's Config.Healthcheck merged with the image's
	// (health.go); HealthOnFailure podman's --health-on-failure.
	Healthcheck     *Healthcheck `json:"healthcheck,omitempty"`
	HealthOnFailure string       `json:"health_on_failure,omitempty"`

	// RestartPolicy is docker's HostConfig.RestartPolicy, carried out by
	// the monitor; `update --restart` changes it.
	RestartPolicy RestartPolicy `json:"restart_policy,omitzero"`
}

// Run is one start of a container: what it was resolved to at that moment.
// Every runtime call of the run uses RuntimePath, whatever the config says
// later.
type Run struct {
	// ID names the run uniquely (128 random bits, hex): an exit applies
	// only to the run whose ID it carries.
	ID string `json:"run_id,omitempty"`
	// Seq is format 1's per-container counter, read from the record of a
	// run that an older berthd started (its monitor reports it).
	Seq int `json:"id,omitempty"`
	// Secret is the run's credential on notify.sock (also in the
	// monitor's 0600 monitor.json, never in exit.json).
	Secret      string    `json:"secret,omitempty"`
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
	// Next is the run that a start is launching, recorded before its
	// monitor is forked so that after a crash of berthd its scope and
	// monitor are found (adopted or cleaned); it becomes Run when the
	// start commits and is dropped when it fails.
	Next *Run `json:"next,omitempty"`
	// Stopped is set when the user stopped the container (for restart
	// policies: unless-stopped).
	Stopped bool `json:"stopped,omitempty"`
	// RestartCount is the number of restarts the monitor made in the
	// current (or last) run, as docker's; a start sets it to 0.
	RestartCount int `json:"restart_count,omitempty"`
}

// Info is a copy of a container's record, safe to hand out.
type Info struct {
	Record
	// Network is the running container's network attachment (nil when it
	// has none: stopped, or network none, host or container:ID).
	Network *network.Attachment `json:"-"`
	// Health is the health state its monitor last wrote (nil without a
	// healthcheck or before its first start).
	Health *contract.Health `json:"-"`
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

// newRun returns a run with a fresh unique ID and secret.
func newRun() (*Run, error) {
	b := make([]byte, 16+32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &Run{ID: hex.EncodeToString(b[:16]), Secret: hex.EncodeToString(b[16:])}, nil
}

// owns reports whether ex is the exit of run r: the same unique run ID,
// or for a run of format 1, the same counter and no ID.
func (r *Run) owns(ex contract.Exit) bool {
	if r.ID != "" {
		return ex.Run == r.ID
	}
	return ex.Run == "" && ex.RunID == r.Seq
}

// trusts reports whether an exit notice carries the run's secret (a run
// of format 1 has none).
func (r *Run) trusts(ex contract.Exit) bool {
	if r.Secret == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(ex.Secret), []byte(r.Secret)) == 1
}

// exitOf is the exit berthd records itself for run r of container id
// (the monitor is gone, or the run never reported).
func (r *Run) exitOf(id string, code int) contract.Exit {
	return contract.Exit{Version: contract.FormatVersion, ID: id, Run: r.ID, RunID: r.Seq, ExitCode: code, FinishedAt: time.Now().UTC()}
}
