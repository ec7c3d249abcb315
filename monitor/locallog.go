package monitor

import (
	"sync"
	"time"

	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/systemd"
)

// localLog is the monitor's end of the local log. A nil *localLog does
// nothing, so output still reaches the journal and clients without it.
type localLog struct {
	w      *logfile.Writer
	j      *journalLogger
	mu     sync.Mutex
	failed bool // a failed write was reported; the next success is too
}

// openLocal opens the container's local log; the start fails without it,
// as `berthctl logs` would miss output otherwise. The file stays open until
// the monitor exits: every write flushes, so the log is complete as soon
// as the pumps are done, and lines that a left-behind process writes
// after the payload's exit still go in.
func (j *journalLogger) openLocal() error {
	w, err := logfile.Create(logfile.Path(j.cfg.ContainerDir), logfile.MaxSize, logfile.MaxFiles)
	if err != nil {
		return err
	}
	j.local = &localLog{w: w, j: j}
	return nil
}

func (l *localLog) append(stream int, partial bool, t time.Time, line []byte) {
	if l != nil {
		l.w.Append(stream, partial, t, line)
	}
}

func (l *localLog) flush() {
	if l != nil {
		l.report(l.w.Flush())
	}
}

// report logs the first of a run of failed writes and the recovery, not
// each one: the readers count the lines lost.
func (l *localLog) report(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && !l.failed:
		l.failed = true
		l.j.event(systemd.PriErr, "local log: "+err.Error()+"; lines are lost until it can be written again")
	case err == nil && l.failed:
		l.failed = false
		l.j.event(systemd.PriWarning, "local log: writing again")
	}
}
