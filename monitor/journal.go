package monitor

import (
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/berthd/berth/events"
	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
)

// MaxLine is where container output lines are split, as docker's journald
// driver does; the pieces before the last carry CONTAINER_PARTIAL_MESSAGE.
const MaxLine = 16 << 10

// journalLogger sends the container's output to its two sinks, line by
// line: the local log (complete, read by `berthctl logs`) and the journal
// with docker's journald-driver fields (best effort: journald's rate limit
// may drop lines). It also writes the monitor's own messages and events.
type journalLogger struct {
	cfg   contract.Config
	vars  map[string]string
	local *localLog
	// send writes one journal entry (systemd.Log; tests capture it).
	send func(pri systemd.Priority, msg string, vars map[string]string)
	// name is the container's name now (a rename reaches a running
	// monitor through OpUpdate); its events carry it. The output lines
	// keep the name of the start in CONTAINER_NAME, as docker's journald
	// driver does.
	name atomic.Pointer[string]
}

// containerName is the container's current name.
func (j *journalLogger) containerName() string {
	if n := j.name.Load(); n != nil {
		return *n
	}
	return j.cfg.Name
}

func newJournalLogger(cfg contract.Config) *journalLogger {
	tag := cfg.ID
	if len(tag) > 12 {
		tag = tag[:12]
	}
	return &journalLogger{cfg: cfg, send: systemd.Log, vars: map[string]string{
		"CONTAINER_ID":      tag,
		"CONTAINER_ID_FULL": cfg.ID,
		"CONTAINER_NAME":    cfg.Name,
		"CONTAINER_TAG":     tag,
		"IMAGE_NAME":        cfg.Image,
		"SYSLOG_IDENTIFIER": tag,
	}}
}

// lineWriter cuts one output stream into lines for both sinks.
type lineWriter struct {
	j      *journalLogger
	stream int // logfile.Stdout or logfile.Stderr
	pri    systemd.Priority
	buf    []byte
	vars   map[string]string
	pvars  map[string]string
}

func (j *journalLogger) stream(kind int) *lineWriter {
	pri, st := systemd.PriInfo, logfile.Stdout
	if kind == 2 {
		pri, st = systemd.PriErr, logfile.Stderr
	}
	partial := make(map[string]string, len(j.vars)+1)
	for k, v := range j.vars {
		partial[k] = v
	}
	partial["CONTAINER_PARTIAL_MESSAGE"] = "true"
	return &lineWriter{j: j, stream: st, pri: pri, vars: j.vars, pvars: partial}
}

// write takes a chunk of output; its whole lines are in the local log
// when it returns.
func (w *lineWriter) write(p []byte) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i >= 0 && i <= MaxLine {
			w.emit(w.buf[:i], false)
			w.buf = w.buf[i+1:]
			continue
		}
		if len(w.buf) > MaxLine {
			w.emit(w.buf[:MaxLine], true)
			w.buf = w.buf[MaxLine:]
			continue
		}
		break
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	w.j.local.flush()
}

func (w *lineWriter) close() {
	if len(w.buf) > 0 {
		w.emit(w.buf, false)
		w.buf = nil
	}
	w.j.local.flush()
}

func (w *lineWriter) emit(line []byte, partial bool) {
	if !partial {
		// CRLF ends a line; a CR where a long line is cut is output.
		line = bytes.TrimSuffix(line, []byte("\r"))
	}
	w.j.local.append(w.stream, partial, time.Now(), line)
	vars := w.vars
	if partial {
		vars = w.pvars
	}
	w.j.send(w.pri, string(line), vars)
}

// event logs a message of the monitor's own about the container; it
// carries berth's subject fields, not the output fields.
func (j *journalLogger) event(pri systemd.Priority, msg string) {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "berth-monitor"}
	for _, f := range events.Container(j.cfg.ID, j.containerName()) {
		vars[f.Name] = f.Value
	}
	systemd.Log(pri, fmt.Sprintf("container %s: %s", j.containerName(), msg), vars)
}

// died and removed are written by the monitor only for a --rm container
// whose exit no berthd took (none could be started); berthd writes them
// otherwise, from outside the container's scope, so that the container's
// output cannot use up the rate limit that journald keeps per unit. Without
// --rm the exit record stays, and berthd writes the event when it next
// starts.
func (j *journalLogger) died(code int) {
	events.Emit(events.Died, "berth-monitor", fmt.Sprintf("container %s died with exit code %d", j.containerName(), code),
		append(events.ContainerWith(j.cfg.ID, j.containerName(), j.cfg.Image, j.cfg.Labels), events.ExitCode(code))...)
}

func (j *journalLogger) removed() {
	events.Emit(events.Removed, "berth-monitor", fmt.Sprintf("container %s removed", j.containerName()),
		events.ContainerWith(j.cfg.ID, j.containerName(), j.cfg.Image, j.cfg.Labels)...)
}

// engineSocket is where berthd.socket listens; a connection starts berthd.
const engineSocket = "/run/berth/berth.sock"

// tellBerthd delivers the exit notice to berthd, starting berthd through
// its socket if it is gone, and reports whether berthd took the notice.
// berthd then records the exit and writes the died event from its own
// unit. It gives up after a few seconds (berthd cannot start).
func (m *mon) tellBerthd(rec contract.Exit) bool {
	if m.cfg.NotifySocket == "" {
		return false
	}
	if m.notify(rec) {
		return true
	}
	c, err := net.DialTimeout("unix", engineSocket, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if m.notify(rec) {
			return true
		}
	}
	return false
}
