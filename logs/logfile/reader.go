package logfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"time"
)

// maxScan bounds how many rotated files a reader looks for.
const maxScan = 64

// Reader reads a container's log forward, across rotated files, and goes
// on where it stopped when the writer adds more (follow). It is not safe
// for concurrent use.
type Reader struct {
	path  string
	files []*rfile // oldest first; passed files are closed and nil
	cur   int
	off   int64

	buf    []byte // a window of files[cur] starting at bufOff
	bufOff int64

	expect    uint64 // the next sequence number wanted
	started   bool   // expect is known
	fromStart bool   // reading began at the oldest record kept
}

type rfile struct {
	f        *os.File
	ino      uint64
	size     int64 // whole records end here, when opened
	first    uint64
	hasFirst bool
}

// Open opens every file of the log at path, to be read from its oldest
// record. A log that does not exist yet reads as empty. Errors name the
// file.
func Open(path string) (*Reader, error) {
	r := &Reader{path: path, fromStart: true}
	files, err := scan(path, nil)
	if err != nil {
		return nil, err
	}
	r.files = files
	r.off = int64(len(Magic))
	return r, nil
}

// scan opens the files of the log, newest name first (a rotation moves
// files to higher numbers, so a file is seen at least once), drops those
// already open (by inode), and sorts them by their first sequence number.
func scan(path string, seen map[uint64]bool) ([]*rfile, error) {
	var files []*rfile
	have := map[uint64]bool{}
	for i := range maxScan {
		f, err := os.Open(Name(path, i))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("log: %w", err)
		}
		rf, err := openFile(f)
		if err != nil {
			f.Close()
			closeAll(files)
			return nil, fmt.Errorf("log %s: %w", Name(path, i), err)
		}
		if have[rf.ino] || seen[rf.ino] {
			f.Close()
			continue
		}
		have[rf.ino] = true
		files = append(files, rf)
	}
	slices.SortStableFunc(files, func(a, b *rfile) int {
		switch {
		case a.hasFirst && b.hasFirst:
			return cmpU64(a.first, b.first)
		case a.hasFirst:
			return -1
		case b.hasFirst:
			return 1
		}
		return 0
	})
	return files, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func openFile(f *os.File) (*rfile, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	rf := &rfile{f: f, ino: st.Sys().(*syscall.Stat_t).Ino}
	size := st.Size()
	if size < int64(len(Magic)) {
		// Being created: its magic is not written yet.
		rf.size = int64(len(Magic))
		return rf, nil
	}
	var m [len(Magic)]byte
	if _, err := f.ReadAt(m[:], 0); err != nil || string(m[:]) != Magic {
		return nil, fmt.Errorf("not a berth log of format %d", Magic[len(Magic)-1])
	}
	if rf.size, err = wholeEnd(f, size); err != nil {
		return nil, err
	}
	if rec, _, err := recordAt(f, int64(len(Magic)), rf.size); err == nil {
		rf.first, rf.hasFirst = rec.Seq, true
	}
	return rf, nil
}

func closeAll(files []*rfile) {
	for _, f := range files {
		if f != nil {
			f.f.Close()
		}
	}
}

// Exists reports whether the log had any file when it was opened.
func (r *Reader) Exists() bool { return len(r.files) > 0 }

// Close closes the files.
func (r *Reader) Close() error {
	closeAll(r.files)
	r.files = nil
	return nil
}

// SeekTail positions the reader so that Next returns, among the records
// kept, the last n whose time lies in [since, until] (a zero time is no
// bound), and the records after them; n < 0 means all of them. It walks
// backward from the end and stops at the first record older than since,
// so it assumes the clock did not go backward by much. The caller still
// filters by time.
func (r *Reader) SeekTail(n int, since, until time.Time) error {
	if n < 0 && since.IsZero() {
		return nil // from the start
	}
	if n == 0 {
		if len(r.files) > 0 {
			last := len(r.files) - 1
			r.position(last, r.files[last].size)
		}
		return nil
	}
	count := 0
	for i := len(r.files) - 1; i >= 0; i-- {
		rf := r.files[i]
		end := rf.size
		for end > int64(len(Magic)) {
			rec, off, err := recordBefore(rf.f, end)
			if err != nil {
				return fmt.Errorf("log %s: %w", r.path, err)
			}
			if !since.IsZero() && rec.Time.Before(since) {
				r.position(i, end)
				return nil
			}
			if until.IsZero() || !rec.Time.After(until) {
				count++
			}
			if n >= 0 && count >= n {
				r.position(i, off)
				return nil
			}
			end = off
		}
	}
	return nil // every record kept is wanted: from the start
}

func (r *Reader) position(i int, off int64) {
	for j := 0; j < i; j++ {
		if r.files[j] != nil {
			r.files[j].f.Close()
			r.files[j] = nil
		}
	}
	r.cur, r.off = i, off
	r.buf = r.buf[:0]
	r.fromStart = false
}

// Next returns the next record and how many records were lost just before
// it (rotated away or never written). It returns io.EOF at the current end
// of the log; a later call goes on from there, following rotations. The
// record's Line is valid until the next call.
func (r *Reader) Next() (Record, uint64, error) {
	for {
		if r.cur >= len(r.files) {
			if !r.rotated() {
				return Record{}, 0, io.EOF
			}
			continue
		}
		rec, next, err := r.read(r.off)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if r.cur < len(r.files)-1 {
				r.advance()
				continue
			}
			if r.rotated() {
				continue
			}
			return Record{}, 0, io.EOF
		}
		if err != nil {
			// A damaged file: go on with the next one.
			r.advance()
			continue
		}
		r.off = next
		if r.started && rec.Seq < r.expect {
			continue // seen already (a file opened twice across a rotation)
		}
		var lost uint64
		switch {
		case r.started:
			lost = rec.Seq - r.expect
		case r.fromStart:
			lost = rec.Seq
		}
		r.expect, r.started = rec.Seq+1, true
		return rec, lost, nil
	}
}

func (r *Reader) advance() {
	if r.cur < len(r.files) {
		r.files[r.cur].f.Close()
		r.files[r.cur] = nil
	}
	r.cur++
	r.off = int64(len(Magic))
	r.buf = r.buf[:0]
}

// rotated is called at the end of the newest file read so far. If the
// writer has rotated since (the log's name is another file now), it queues
// the files that come after the current one and reports true; the current
// file is complete then (the writer rotates only after a flush), so
// reading it to its end and moving on loses nothing.
func (r *Reader) rotated() bool {
	var cur *rfile
	if r.cur < len(r.files) {
		cur = r.files[r.cur]
		st, err := os.Stat(r.path)
		if err != nil || st.Sys().(*syscall.Stat_t).Ino == cur.ino {
			return false
		}
	}
	seen := map[uint64]bool{}
	if cur != nil {
		seen[cur.ino] = true
	}
	more, err := scan(r.path, seen)
	if err != nil {
		return false
	}
	kept := more[:0]
	for _, f := range more {
		if r.started && f.hasFirst && f.first < r.expect {
			f.f.Close() // older than what was read
			continue
		}
		kept = append(kept, f)
	}
	if len(kept) == 0 {
		return false
	}
	r.files = append(r.files, kept...)
	if cur == nil {
		r.off = int64(len(Magic))
		r.buf = r.buf[:0]
	}
	return true
}

// read reads the whole record at off of the current file through a
// window buffer.
func (r *Reader) read(off int64) (Record, int64, error) {
	hdr, err := r.window(off, 4)
	if err != nil {
		return Record{}, 0, err
	}
	n := int64(binary.BigEndian.Uint32(hdr))
	if n < fixed || n > maxRecord {
		return Record{}, 0, fmt.Errorf("damaged record at %d", off)
	}
	b, err := r.window(off, 8+n)
	if err != nil {
		return Record{}, 0, err
	}
	if int64(binary.BigEndian.Uint32(b[4+n:])) != n {
		return Record{}, 0, fmt.Errorf("damaged record at %d", off)
	}
	rec, err := decodeBody(b[4 : 4+n])
	if err != nil {
		return Record{}, 0, err
	}
	return rec, off + 8 + n, nil
}

// window returns n bytes of the current file at off, reading ahead in
// chunks; io.ErrUnexpectedEOF if the file ends before.
func (r *Reader) window(off, n int64) ([]byte, error) {
	if off >= r.bufOff && off+n <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+n], nil
	}
	size := max(n, 64<<10)
	if int64(cap(r.buf)) < size {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	got, err := r.files[r.cur].f.ReadAt(r.buf, off)
	r.buf, r.bufOff = r.buf[:got], off
	if int64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return r.buf[:n], nil
}
