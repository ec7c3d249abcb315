package systemd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// Priority is a syslog priority.
type Priority = journal.Priority

// The priorities berth uses.
const (
	PriErr     = journal.PriErr
	PriWarning = journal.PriWarning
	PriInfo    = journal.PriInfo
	PriDebug   = journal.PriDebug
)

// Log writes one structured entry to the journal, or to stderr when no
// journal is reachable. Field names must be upper case.
func Log(pri Priority, msg string, vars map[string]string) {
	if journal.Enabled() {
		if journal.Send(msg, pri, vars) == nil {
			return
		}
	}
	fmt.Fprintln(os.Stderr, msg)
}

// JournalStream reports whether stderr is connected to the journal, as it
// is for a service (JOURNAL_STREAM names stderr's device and inode).
func JournalStream() bool {
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}

// JournalHandler is a slog.Handler that writes structured journal entries:
// attributes become upper-case fields (container → CONTAINER).
type JournalHandler struct {
	level slog.Leveler
	ident string
	attrs []slog.Attr
	group string
}

// NewJournalHandler returns a handler for entries at or above level.
func NewJournalHandler(ident string, level slog.Leveler) *JournalHandler {
	return &JournalHandler{level: level, ident: ident}
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": h.ident}
	var sb strings.Builder
	sb.WriteString(r.Message)
	add := func(a slog.Attr) {
		key := strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(h.group + a.Key))
		val := a.Value.Resolve().String()
		vars[key] = val
		fmt.Fprintf(&sb, " %s=%q", a.Key, val)
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	pri := PriInfo
	switch {
	case r.Level >= slog.LevelError:
		pri = PriErr
	case r.Level >= slog.LevelWarn:
		pri = PriWarning
	case r.Level < slog.LevelInfo:
		pri = PriDebug
	}
	Log(pri, sb.String(), vars)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &n
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.group = h.group + name + "_"
	return &n
}
