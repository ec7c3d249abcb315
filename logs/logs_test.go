package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/stream"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 123450000, time.UTC)

type line struct {
	stream  int
	partial bool
	at      time.Duration
	text    string
}

func writeLog(t *testing.T, path string, lines []line) {
	t.Helper()
	w, err := logfile.Create(path, logfile.MaxSize, logfile.MaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		w.Append(l.stream, l.partial, t0.Add(l.at), []byte(l.text))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// frames renders a stream as "kind:payload" items.
func frames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	r := bytes.NewReader(b)
	for {
		k, p, err := stream.Read(r)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := map[stream.Kind]string{stream.Stdout: "out", stream.Stderr: "err", stream.Notice: "notice"}[k]
		out = append(out, name+":"+string(p))
	}
}

func run(t *testing.T, path string, o Options) []string {
	t.Helper()
	r, err := logfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SeekTail(o.Tail, o.Since, o.Until); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := copyLog(t.Context(), r, &buf, o); err != nil {
		t.Fatal(err)
	}
	return frames(t, buf.Bytes())
}

func TestCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	writeLog(t, path, []line{
		{logfile.Stdout, false, 0, "one"},
		{logfile.Stderr, false, time.Second, "oops"},
		{logfile.Stdout, true, 2 * time.Second, "long "},
		{logfile.Stdout, false, 2 * time.Second, "line"},
		{logfile.Stdout, false, 3 * time.Second, "last"},
	})
	ts := func(d time.Duration) string { return t0.Add(d).Format(TimestampLayout) + " " }
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"all", Options{Tail: -1}, []string{"out:one\n", "err:oops\n", "out:long ", "out:line\n", "out:last\n"}},
		{"tail 2", Options{Tail: 2}, []string{"out:line\n", "out:last\n"}},
		{"tail 0", Options{Tail: 0}, nil},
		{"since", Options{Tail: -1, Since: t0.Add(time.Second)}, []string{"err:oops\n", "out:long ", "out:line\n", "out:last\n"}},
		{"until", Options{Tail: -1, Until: t0.Add(time.Second)}, []string{"out:one\n", "err:oops\n"}},
		{"since and until", Options{Tail: -1, Since: t0.Add(time.Second), Until: t0.Add(2 * time.Second)}, []string{"err:oops\n", "out:long ", "out:line\n"}},
		{"timestamps once per line", Options{Tail: -1, Timestamps: true, Since: t0.Add(2 * time.Second)},
			[]string{"out:" + ts(2*time.Second) + "long ", "out:line\n", "out:" + ts(3*time.Second) + "last\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, path, tt.o)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLostLinesNoticed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, err := logfile.Create(path, 1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		w.Append(logfile.Stdout, false, t0, []byte(strings.Repeat("x", i%10)))
		w.Flush()
	}
	w.Close()
	got := run(t, path, Options{Tail: -1})
	if len(got) < 2 || !strings.HasPrefix(got[0], "notice:berth: ") {
		t.Fatalf("no notice first: %q", got[:min(len(got), 2)])
	}
	for _, f := range got[1:] {
		if !strings.HasPrefix(f, "out:") {
			t.Fatalf("frame %q", f)
		}
	}
	kept := uint64(len(got) - 1)
	if want := LostNotice(200 - kept); got[0] != "notice:"+want {
		t.Fatalf("notice %q, want %q (%d kept)", got[0], want, kept)
	}
}

func TestFollowEndsAtStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, err := logfile.Create(path, logfile.MaxSize, logfile.MaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	r, err := logfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- copyLog(context.Background(), r, pw, Options{Tail: -1, Follow: true, Stop: stop})
		pw.Close()
	}()
	var got []string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			_, p, err := stream.Read(pr)
			if err != nil {
				return
			}
			got = append(got, string(p))
		}
	}()
	w.Append(logfile.Stdout, false, t0, []byte("before"))
	w.Flush()
	time.Sleep(3 * PollInterval)
	// The monitor writes its last lines, then the exit is recorded.
	w.Append(logfile.Stdout, false, t0, []byte("last"))
	w.Flush()
	close(stop)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after stop")
	}
	<-readDone
	if strings.Join(got, "") != "before\nlast\n" {
		t.Fatalf("followed %q", got)
	}
	w.Close()
}

func TestMissingLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	if got := run(t, path, Options{Tail: -1, Missing: "no local log"}); strings.Join(got, "|") != "notice:no local log" {
		t.Fatalf("no log: %q", got)
	}
	writeLog(t, path, []line{{logfile.Stdout, false, 0, "one"}})
	if got := run(t, path, Options{Tail: -1, Missing: "no local log"}); strings.Join(got, "|") != "out:one\n" {
		t.Fatalf("a log: %q", got)
	}
}

func TestTimestampLayout(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 120000000, time.FixedZone("x", 3600))
	if got := at.UTC().Format(TimestampLayout); got != "2026-11-29T09:00:00.120000000Z" {
		t.Fatalf("timestamp %q", got)
	}
}
