package contract

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// FormatVersion is written into every Config and Exit; readers accept any
// version up to their own. Version 2 names a run by Run (unique) instead of
// RunID (a per-container counter, which repeated after a lost start) and
// adds the run's Secret.
const FormatVersion = 2

// NoticeAck is berthd's answer to an exit notice on notify.sock, sent to
// a monitor whose socket has an address of its own once the notice was
// checked and applied. The monitor waits for it (NoticeAckWait at most)
// before it exits, so that berthd finds the sender in the scope's
// supervisor cgroup however late it reads the notice. Monitors of older
// berths send from an unnamed socket and get no answer.
const NoticeAck = "ok"

// NoticeAckWait bounds a monitor's wait for NoticeAck.
const NoticeAckWait = 5 * time.Second

// Config is everything the monitor needs for one run of a container.
type Config struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"`
	// Labels are the container's, for the events the monitor writes
	// (absent in the configs of older berths).
	Labels map[string]string `json:"labels,omitempty"`
	// Run names the run uniquely; RunID is format 1's counter, set only
	// by an older berthd.
	Run   string `json:"run,omitempty"`
	RunID int    `json:"run_id,omitempty"`
	// Secret goes with every exit notice of the run: berthd takes a
	// notice only from the monitor that holds it (and that sends from
	// the run's scope). It is in this file only, which is root's (0600).
	Secret       string `json:"secret,omitempty"`
	RuntimePath  string `json:"runtime_path"`
	RuntimeRoot  string `json:"runtime_root"`
	RunDir       string `json:"run_dir"`
	ContainerDir string `json:"container_dir"`
	NotifySocket string `json:"notify_socket"`
	TTY          bool   `json:"tty"`
	Stdin        bool   `json:"stdin"`
	StopSignal   int    `json:"stop_signal"`
	StopTimeout  int    `json:"stop_timeout"` // seconds
	AutoRemove   bool   `json:"auto_remove"`
	// RootfsMount is the container's overlay mount, unmounted when the
	// run ends (before an --rm removal; the next start mounts it again);
	// empty for a root file-system directory.
	RootfsMount string `json:"rootfs_mount,omitempty"`
	BootID      string `json:"boot_id"`
	// Healthcheck is run by the monitor through the runtime's exec; nil:
	// none.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// Restart is the container's restart policy, carried out by the
	// monitor in the run's scope (zero: never restart). OpUpdate changes
	// it for a running monitor.
	Restart RestartPolicy `json:"restart,omitzero"`
}

// RestartPolicy is docker's HostConfig.RestartPolicy.
type RestartPolicy struct {
	// Name is RestartNo (or ""), RestartAlways, RestartOnFailure or
	// RestartUnlessStopped.
	Name string `json:"name,omitempty"`
	// MaximumRetryCount bounds the restarts of on-failure (0: no bound).
	MaximumRetryCount int `json:"maximum_retry_count,omitempty"`
}

// The restart policies, by docker's names.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPath is the monitor's restart state of a container (Restart),
// written atomically at each restart of the payload.
func RestartPath(containerDir string) string { return filepath.Join(containerDir, "restart.json") }

// Restart is the monitor's restart state of a run (restart.json): berthd
// reads it when it loads or reconciles a live container whose notices it
// missed.
type Restart struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Run     string `json:"run"`
	// Restarting is true while the monitor waits before the next start
	// (then Pid is 0, ExitCode and FinishedAt are the ended attempt's).
	Restarting   bool      `json:"restarting"`
	RestartCount int       `json:"restart_count"`
	Pid          int       `json:"pid,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	ExitCode     int       `json:"exit_code"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
}

// ReadRestart reads a restart state; os.ErrNotExist if there is none.
func ReadRestart(containerDir string) (*Restart, error) {
	b, err := os.ReadFile(RestartPath(containerDir))
	if err != nil {
		return nil, err
	}
	var r Restart
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("restart state %s: %w", RestartPath(containerDir), err)
	}
	if r.Version > FormatVersion {
		return nil, fmt.Errorf("restart state %s: format version %d is newer than %d", RestartPath(containerDir), r.Version, FormatVersion)
	}
	return &r, nil
}

// Bundle is the OCI bundle directory of a run.
func (c *Config) Bundle() string { return filepath.Join(c.RunDir, "bundle") }

// SocketPath is where the monitor of a run listens.
func SocketPath(runDir string) string { return filepath.Join(runDir, "monitor.sock") }

// ExitPath is the exit record of a container.
func ExitPath(containerDir string) string { return filepath.Join(containerDir, "exit.json") }

// Go is berthd's go-ahead on the start pipe.
type Go struct {
	Cgroup string `json:"cgroup"` // absolute cgroupfs path of the scope
	Attach bool   `json:"attach"` // wait for the first attach before starting
}

// Started is the monitor's answer on the start pipe.
type Started struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// Exit is the exit record of one run (exit.json), and the exit notice the
// monitor sends to notify.sock (with the run's Secret; the record on disk
// has none).
type Exit struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	// Run (format 2) or RunID (format 1) name the run, as in Config.
	Run        string    `json:"run,omitempty"`
	RunID      int       `json:"run_id,omitempty"`
	Secret     string    `json:"secret,omitempty"`
	ExitCode   int       `json:"exit_code"`
	FinishedAt time.Time `json:"finished_at"`
	BootID     string    `json:"boot_id"`
	Removed    bool      `json:"removed,omitempty"` // --rm was carried out
	// Stopped: the run ended at a stop by the user (a stop request on
	// monitor.sock, or SIGTERM from a stop of the scope: systemctl stop),
	// not at a stop of --health-on-failure; for unless-stopped at boot.
	Stopped bool `json:"stopped,omitempty"`
	// Logged: berthd could not be told of the exit, so the monitor wrote
	// the die event itself, at the exit's time; berthd, reading the
	// record later, writes none.
	Logged bool `json:"logged,omitempty"`
	// Notice is NoticeExit ("") for the end of the run, else
	// NoticeRestarting (an attempt ended: ExitCode, FinishedAt; the
	// monitor waits to start the next) or NoticeRestarted (the next
	// attempt runs as Pid since StartedAt). RestartCount is the run's
	// restarts so far. A berthd acks every kind alike.
	Notice       string    `json:"notice,omitempty"`
	RestartCount int       `json:"restart_count,omitempty"`
	Pid          int       `json:"pid,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
}

// The kinds of notices on notify.sock (Exit.Notice).
const (
	NoticeExit       = ""
	NoticeRestarting = "restarting"
	NoticeRestarted  = "restarted"
)

// Request is one request on monitor.sock.
type Request struct {
	Op      string `json:"op"` // OpAttach, OpExec, OpStop, OpState, OpHealthcheck
	Stdin   bool   `json:"stdin,omitempty"`
	TTY     bool   `json:"tty,omitempty"`
	Timeout int    `json:"timeout,omitempty"` // stop: seconds
	// Signal (stop) is sent first instead of the container's stop
	// signal; 0 means the stop signal. A monitor older than this field
	// ignores it and sends the stop signal.
	Signal  int             `json:"signal,omitempty"`
	Process json.RawMessage `json:"process,omitempty"` // exec: OCI process
	// Restart (OpUpdate) is the container's new restart policy.
	Restart *RestartPolicy `json:"restart,omitempty"`
	// Name (OpUpdate) is the container's new name (a rename), which the
	// monitor's events carry from then on.
	Name string `json:"name,omitempty"`
}

// The requests a monitor serves.
const (
	OpAttach = "attach" // join the payload's stdio; a stream follows
	OpExec   = "exec"   // run Process in the container; a stream follows
	OpStop   = "stop"   // stop signal (or Signal), SIGKILL after Timeout seconds
	// OpState asks which run the monitor serves and the payload's pid
	// (format 2; berthd adopts a run with it after a crash).
	OpState = "state"
	// OpHealthcheck runs one healthcheck at once; the reply carries its
	// result and the status after it.
	OpHealthcheck = "healthcheck"
	// OpUpdate sets the restart policy of the run (Request.Restart) and
	// the container's name (Request.Name).
	OpUpdate = "update"
)

// Reply answers a Request.
type Reply struct {
	Pid   int    `json:"pid,omitempty"` // 0 while the payload waits to restart
	Run   string `json:"run,omitempty"` // OpState: the Config's Run
	Error string `json:"error,omitempty"`
	// Health (OpHealthcheck) is the check's result and Status the
	// health status after it.
	Health *HealthResult `json:"health,omitempty"`
	Status string        `json:"status,omitempty"`
}

// ReadExit reads an exit record; it returns os.ErrNotExist if there is none.
func ReadExit(containerDir string) (*Exit, error) {
	b, err := os.ReadFile(ExitPath(containerDir))
	if err != nil {
		return nil, err
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("exit record %s: %w", ExitPath(containerDir), err)
	}
	if e.Version > FormatVersion {
		return nil, fmt.Errorf("exit record %s: format version %d is newer than %d", ExitPath(containerDir), e.Version, FormatVersion)
	}
	return &e, nil
}

// Call sends a request to the monitor listening in runDir and reads its
// reply, within timeout. On success the connection is returned open,
// positioned after the reply, for attach and exec streams; the caller
// closes it. A refused request returns the monitor's message.
func Call(ctx context.Context, runDir string, req Request, timeout time.Duration) (*net.UnixConn, error) {
	conn, _, err := call(ctx, runDir, req, timeout)
	return conn, err
}

// Ask sends a request that has no stream (OpStop, OpState) and returns
// the monitor's reply; errors as Call's.
func Ask(ctx context.Context, runDir string, req Request, timeout time.Duration) (Reply, error) {
	conn, rep, err := call(ctx, runDir, req, timeout)
	if err != nil {
		return Reply{}, err
	}
	conn.Close()
	return rep, nil
}

func call(ctx context.Context, runDir string, req Request, timeout time.Duration) (*net.UnixConn, Reply, error) {
	var rep Reply
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "unix", SocketPath(runDir))
	if err != nil {
		return nil, rep, fmt.Errorf("monitor not reachable: %w", err)
	}
	conn := c.(*net.UnixConn)
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		conn.Close()
		return nil, rep, err
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		conn.Close()
		return nil, rep, fmt.Errorf("monitor request: %w", err)
	}
	line, err := ReadLine(conn, MaxReply)
	if err != nil {
		conn.Close()
		return nil, rep, fmt.Errorf("monitor reply: %w", err)
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		conn.Close()
		return nil, rep, fmt.Errorf("monitor reply %q: %w", line, err)
	}
	if rep.Error != "" {
		conn.Close()
		return nil, rep, errors.New(rep.Error)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, rep, err
	}
	return conn, rep, nil
}

// MaxRequest bounds a request line (an exec carries a whole OCI process,
// whose arguments and environment may be large); MaxReply a reply line.
const (
	MaxRequest = 4 << 20
	MaxReply   = 1 << 16
)

// ErrLineTooLong is returned by ReadLine and ReadRequest for a line of
// max bytes or more.
var ErrLineTooLong = errors.New("line too long")

// ReadRequest reads and decodes one request line of less than MaxRequest
// bytes. A client sends nothing more before it has the reply, so the
// buffered read takes no stream bytes; a request followed by more is
// refused. Errors: ErrLineTooLong, the connection's own, or a JSON error.
func ReadRequest(r io.Reader) (Request, error) {
	var req Request
	br := bufio.NewReaderSize(io.LimitReader(r, MaxRequest), 64<<10)
	line, err := br.ReadBytes('\n')
	if err == io.EOF && len(line) >= MaxRequest {
		return req, ErrLineTooLong
	}
	if err != nil {
		return req, err
	}
	if br.Buffered() > 0 {
		return req, errors.New("bad request: data after the request line")
	}
	if err := json.Unmarshal(line, &req); err != nil {
		return req, fmt.Errorf("bad request: %w", err)
	}
	return req, nil
}

// ReadLine reads up to a newline one byte at a time, so that nothing past
// the line is consumed from the connection. A line of max bytes or more is
// ErrLineTooLong.
func ReadLine(r io.Reader, max int) ([]byte, error) {
	var line []byte
	var b [1]byte
	for len(line) < max {
		if _, err := r.Read(b[:]); err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			return line, nil
		}
		line = append(line, b[0])
	}
	return nil, ErrLineTooLong
}

// MaxMessage bounds an error message of a runtime as the monitor reports it
// (Started.Error, Reply.Error) and as berthd reports its own runtime calls.
const MaxMessage = 1 << 10

// Cut shortens s to at most max bytes (plus a marker), keeping its head and
// its tail, where runtimes put the cause.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	half := max / 2
	return fmt.Sprintf("%s …(%d bytes cut)… %s", s[:half], len(s)-2*half, s[len(s)-half:])
}
