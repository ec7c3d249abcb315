// Package logs serves `berthctl logs`: it reads a container's local log
// (package logfile, written by its monitor) and turns it into stream
// frames, applying docker's options (follow, tail, since, until,
// timestamps). Lines that the local log no longer holds (rotated out) or
// never got (a failed write) are reported in a stream.Notice frame with
// their count, where they would have been.
//
// The journal is not read: it holds the same lines with docker's journald
// fields for `journalctl CONTAINER_NAME=…`, but journald's rate limit may
// drop some of them, and the local log is complete (within its caps) by the
// time a container's exit is recorded.
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/stream"
)

// Options select what to read.
type Options struct {
	Follow bool
	// Tail is how many of the last lines to show; < 0 shows all.
	Tail int
	// Since and Until bound the lines' times; zero is no bound.
	Since, Until time.Time
	// Timestamps prefixes each line with its time and a space, as docker
	// does: RFC 3339 in UTC with all nine digits of nanoseconds
	// (TimestampLayout).
	Timestamps bool
	// Missing, if set, is sent as a notice when the log does not exist
	// (a container that ran under a berth without local logs).
	Missing string
	// Stop, when closed, ends a follow once the log is read to its end:
	// the container has exited, and its monitor wrote every line before
	// the exit was recorded.
	Stop <-chan struct{}
}

// TimestampLayout is docker's layout of log timestamps (its
// RFC3339NanoFixed): fixed width, so that lines stay aligned.
const TimestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// PollInterval is how often a follow looks for new lines.
const PollInterval = 100 * time.Millisecond

// Open starts reading the local log at path and returns the client's end
// of a stream. done is called when the stream ends (the log is read, the
// follow ended, or the client went away). A log that does not exist yet
// reads as empty.
func Open(ctx context.Context, path string, o Options, done func()) (*os.File, error) {
	r, err := logfile.Open(path)
	if err != nil {
		return nil, err
	}
	if err := r.SeekTail(o.Tail, o.Since, o.Until); err != nil {
		r.Close()
		return nil, err
	}
	f, err := stream.Serve(ctx, "logs", func(ctx context.Context, w *os.File) {
		defer done()
		defer r.Close()
		copyLog(ctx, r, w, o)
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	return f, nil
}

// copyLog writes the selected records of r to w as frames until the log
// is read (or, with Follow, until Stop and the log is read), ctx ends or
// a write fails.
func copyLog(ctx context.Context, r *logfile.Reader, w io.Writer, o Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fw := stream.NewWriter(bw)
	var poll *time.Ticker
	stopped := false
	midLine := [3]bool{} // per stream: the last record was partial
	var line []byte
	if !r.Exists() && o.Missing != "" {
		if err := fw.Write(stream.Notice, []byte(o.Missing)); err != nil {
			return err
		}
	}
	for {
		rec, lost, err := r.Next()
		if errors.Is(err, io.EOF) {
			if err := bw.Flush(); err != nil {
				return err
			}
			if !o.Follow || stopped || (!o.Until.IsZero() && time.Now().After(o.Until)) {
				return nil
			}
			if poll == nil {
				poll = time.NewTicker(PollInterval)
				defer poll.Stop()
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-o.Stop:
				stopped = true // read to the end once more
			case <-poll.C:
			}
			continue
		}
		if err != nil {
			return err
		}
		if lost > 0 {
			if err := fw.Write(stream.Notice, []byte(LostNotice(lost))); err != nil {
				return err
			}
		}
		if !o.Since.IsZero() && rec.Time.Before(o.Since) {
			continue
		}
		if !o.Until.IsZero() && rec.Time.After(o.Until) {
			if err := bw.Flush(); err != nil {
				return err
			}
			return nil
		}
		line = line[:0]
		if o.Timestamps && !midLine[rec.Stream] {
			line = rec.Time.UTC().AppendFormat(line, TimestampLayout)
			line = append(line, ' ')
		}
		line = append(line, rec.Line...)
		if !rec.Partial {
			line = append(line, '\n')
		}
		midLine[rec.Stream] = rec.Partial
		if err := fw.Write(stream.Kind(rec.Stream), line); err != nil {
			return err
		}
	}
}

// LostNotice is the text of the notice for n lines missing from the log.
func LostNotice(n uint64) string {
	return fmt.Sprintf("berth: %d lines missing here: rotated out of the local log (it keeps %d files of %d MiB) or never written to it", n, logfile.MaxFiles, logfile.MaxSize>>20)
}
