package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// writeLines appends lines "0".."n-1" (from start), one flush each k lines.
func writeLines(t *testing.T, w *Writer, start, n, k int) {
	t.Helper()
	for i := start; i < start+n; i++ {
		w.Append(Stdout, false, t0.Add(time.Duration(i)*time.Second), []byte(strconv.Itoa(i)))
		if (i+1)%k == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

type got struct {
	lines []string
	lost  []uint64 // lost before each line
}

func readAll(t *testing.T, r *Reader) got {
	t.Helper()
	var g got
	for {
		rec, lost, err := r.Next()
		if errors.Is(err, io.EOF) {
			return g
		}
		if err != nil {
			t.Fatal(err)
		}
		g.lines = append(g.lines, string(rec.Line))
		g.lost = append(g.lost, lost)
	}
}

func seq(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, err := Create(path, MaxSize, MaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(Stdout, true, t0, []byte("part"))
	w.Append(Stdout, false, t0, []byte("ial"))
	w.Append(Stderr, false, t0.Add(time.Nanosecond), []byte(""))
	w.Append(Stdout, false, t0, []byte("bin\x00\xff"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := []Record{
		{Seq: 0, Stream: Stdout, Partial: true, Line: []byte("part"), Time: t0},
		{Seq: 1, Stream: Stdout, Line: []byte("ial"), Time: t0},
		{Seq: 2, Stream: Stderr, Line: []byte(""), Time: t0.Add(time.Nanosecond)},
		{Seq: 3, Stream: Stdout, Line: []byte("bin\x00\xff"), Time: t0},
	}
	for i, w := range want {
		rec, lost, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if lost != 0 || rec.Seq != w.Seq || rec.Stream != w.Stream || rec.Partial != w.Partial || string(rec.Line) != string(w.Line) || !rec.Time.Equal(w.Time) {
			t.Errorf("record %d: %+v (lost %d), want %+v", i, rec, lost, w)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last record: %v", err)
	}
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name      string
		maxFiles  int
		lines     int
		wantFirst int // first line kept
	}{
		{"fits", 3, 100, 0},
		{"oldest files dropped", 3, 5000, -1},
		{"one file", 1, 5000, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "container.log")
			w, err := Create(path, 4096, tt.maxFiles)
			if err != nil {
				t.Fatal(err)
			}
			writeLines(t, w, 0, tt.lines, 7)
			w.Close()
			for i := 0; i < tt.maxFiles+2; i++ {
				_, err := os.Stat(Name(path, i))
				if exists := err == nil; exists != (i < tt.maxFiles && (i == 0 || tt.lines > 100)) {
					t.Errorf("file %d exists: %v", i, exists)
				}
				if fi, err := os.Stat(Name(path, i)); err == nil && fi.Size() > 4096 {
					t.Errorf("file %d has %d bytes, over the cap", i, fi.Size())
				}
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			g := readAll(t, r)
			if len(g.lines) == 0 {
				t.Fatal("nothing read")
			}
			first, _ := strconv.Atoi(g.lines[0])
			if tt.wantFirst >= 0 && first != tt.wantFirst {
				t.Fatalf("first line %d, want %d", first, tt.wantFirst)
			}
			if !equal(g.lines, seq(first, tt.lines)) {
				t.Fatalf("lines %v… are not %d..%d", g.lines[:3], first, tt.lines-1)
			}
			if g.lost[0] != uint64(first) {
				t.Fatalf("lost before the first line: %d, want %d", g.lost[0], first)
			}
		})
	}
}

func TestSequenceContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	for run := range 3 {
		w, err := Create(path, 2048, 4)
		if err != nil {
			t.Fatal(err)
		}
		writeLines(t, w, run*50, 50, 10)
		w.Close()
	}
	r, _ := Open(path)
	defer r.Close()
	g := readAll(t, r)
	first, _ := strconv.Atoi(g.lines[0])
	if !equal(g.lines, seq(first, 150)) || g.lost[0] != uint64(first) {
		t.Fatalf("after three runs: %d lines from %s, lost %d", len(g.lines), g.lines[0], g.lost[0])
	}
	for i, l := range g.lost[1:] {
		if l != 0 {
			t.Fatalf("gap before line %d", i+1)
		}
	}
}

func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, _ := Create(path, MaxSize, MaxFiles)
	writeLines(t, w, 0, 10, 10)
	w.Close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 40, 1, 2, 3}) // a record cut short
	f.Close()

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if g := readAll(t, r); !equal(g.lines, seq(0, 10)) {
		t.Fatalf("reader: %v", g.lines)
	}
	r.Close()

	w, err = Create(path, MaxSize, MaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	writeLines(t, w, 10, 5, 5)
	w.Close()
	r, _ = Open(path)
	defer r.Close()
	if g := readAll(t, r); !equal(g.lines, seq(0, 15)) {
		t.Fatalf("after a torn tail: %v", g.lines)
	}
}

func TestFailedWriteIsAGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, _ := Create(path, MaxSize, MaxFiles)
	writeLines(t, w, 0, 3, 10)
	good := w.f
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w.f = ro // writes fail as on a full disk
	w.Append(Stdout, false, t0, []byte("lost1"))
	w.Append(Stdout, false, t0, []byte("lost2"))
	if err := w.Flush(); err == nil {
		t.Fatal("a failed write was not reported")
	}
	w.f = good
	ro.Close()
	writeLines(t, w, 5, 2, 10)
	w.Close()
	r, _ := Open(path)
	defer r.Close()
	g := readAll(t, r)
	if !equal(g.lines, []string{"0", "1", "2", "5", "6"}) || g.lost[3] != 2 {
		t.Fatalf("lines %v, lost %v", g.lines, g.lost)
	}
}

func TestSeekTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, _ := Create(path, 1500, 3)
	writeLines(t, w, 0, 200, 3) // times t0+i s; older files rotated away
	w.Close()
	r0, _ := Open(path)
	oldest := readAll(t, r0).lines[0]
	r0.Close()
	first, _ := strconv.Atoi(oldest)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name         string
		n            int
		since, until time.Time
		want         []string
		lostFirst    uint64
	}{
		{"tail 3", 3, time.Time{}, time.Time{}, seq(197, 200), 0},
		{"tail 0", 0, time.Time{}, time.Time{}, nil, 0},
		{"tail more than kept", 1000, time.Time{}, time.Time{}, seq(first, 200), uint64(first)},
		{"since", -1, at(190), time.Time{}, seq(190, 200), 0},
		{"since and until", -1, at(190), at(195), seq(190, 196), 0},
		{"tail of a window", 2, time.Time{}, at(195), seq(194, 196), 0},
		{"since before everything kept", -1, at(0), time.Time{}, seq(first, 200), uint64(first)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.SeekTail(tt.n, tt.since, tt.until); err != nil {
				t.Fatal(err)
			}
			var lines []string
			var lostFirst uint64
			for {
				rec, lost, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(lines) == 0 {
					lostFirst = lost
				}
				if (!tt.since.IsZero() && rec.Time.Before(tt.since)) || (!tt.until.IsZero() && rec.Time.After(tt.until)) {
					continue
				}
				lines = append(lines, string(rec.Line))
			}
			if !equal(lines, tt.want) || lostFirst != tt.lostFirst {
				t.Fatalf("got %v (lost %d), want %v (lost %d)", lines, lostFirst, tt.want, tt.lostFirst)
			}
		})
	}
}

func TestFollowAcrossRotations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	r, err := Open(path) // before the log exists
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, _ := Create(path, 1024, 4)
	var lines []string
	total := 0
	for round := range 20 {
		writeLines(t, w, total, 30, 5) // about one rotation per round
		total += 30
		g := readAll(t, r)
		for i, l := range g.lost {
			if l != 0 {
				t.Fatalf("round %d: %d lost before %s", round, l, g.lines[i])
			}
		}
		lines = append(lines, g.lines...)
	}
	w.Close()
	if !equal(lines, seq(0, total)) {
		t.Fatalf("followed %d lines, want %d", len(lines), total)
	}
}

func TestNotALog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	os.WriteFile(path, []byte("something else entirely"), 0o644)
	if _, err := Create(path, MaxSize, MaxFiles); err == nil {
		t.Error("Create took a file of another format")
	}
	if _, err := Open(path); err == nil {
		t.Error("Open took a file of another format")
	}
}

func BenchmarkAppend(b *testing.B) {
	w, _ := Create(filepath.Join(b.TempDir(), "container.log"), MaxSize, MaxFiles)
	defer w.Close()
	line := []byte(fmt.Sprintf("%080d", 1))
	for i := 0; b.Loop(); i++ {
		w.Append(Stdout, false, t0, line)
		if i%100 == 99 {
			w.Flush()
		}
	}
}

func TestFollowerFallsBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, _ := Create(path, 1024, 2)
	writeLines(t, w, 0, 10, 10)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g := readAll(t, r)
	writeLines(t, w, 10, 990, 10) // many rotations while the reader waits
	w.Close()
	g2 := readAll(t, r)
	lines := append(g.lines, g2.lines...)
	var lost uint64
	for _, l := range append(g.lost, g2.lost...) {
		lost += l
	}
	if uint64(len(lines))+lost != 1000 {
		t.Fatalf("%d lines read and %d reported lost, want 1000 in all", len(lines), lost)
	}
	if lost == 0 || lines[len(lines)-1] != "999" {
		t.Fatalf("no gap reported (%d lost), or the end is missing (%s)", lost, lines[len(lines)-1])
	}
	// Each line follows the one before, or the lines reported lost.
	all := append(g.lost, g2.lost...)
	for i := 1; i < len(lines); i++ {
		a, _ := strconv.Atoi(lines[i-1])
		b, _ := strconv.Atoi(lines[i])
		if uint64(b-a-1) != all[i] {
			t.Fatalf("line %d after %d with %d reported lost", b, a, all[i])
		}
	}
}
