package logfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Magic starts every log file; its last byte is the format version.
const Magic = "BERTHLG\x01"

// Stream numbers, as in package stream.
const (
	Stdout = 1
	Stderr = 2
)

// Caps of a container's local log: MaxFiles files of at most MaxSize bytes
// each (docker's local driver keeps 5 × 20 MB).
const (
	MaxSize  = 20 << 20
	MaxFiles = 5
)

const (
	fixed       = 1 + 8 + 8 // flags, seq, time
	flagPartial = 0x80
	// maxRecord bounds a record's body, so a damaged length cannot make a
	// reader allocate without end; lines are split far below it.
	maxRecord = 1 << 20
)

// Record is one line (or piece of a line) of output.
type Record struct {
	Seq     uint64
	Time    time.Time
	Stream  int // Stdout or Stderr
	Partial bool
	Line    []byte // without the newline
}

// Path is the local log of a container whose directory (under data-root)
// is containerDir.
func Path(containerDir string) string { return filepath.Join(containerDir, "container.log") }

// Name is the i-th file of the log at path: path itself for 0, path.i
// for older ones.
func Name(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}

func appendRecord(b []byte, r Record) []byte {
	n := uint32(fixed + len(r.Line))
	flags := byte(r.Stream)
	if r.Partial {
		flags |= flagPartial
	}
	b = binary.BigEndian.AppendUint32(b, n)
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = append(b, r.Line...)
	return binary.BigEndian.AppendUint32(b, n)
}

// decodeBody decodes a record body (flags to the end of line); the line
// aliases body.
func decodeBody(body []byte) (Record, error) {
	if len(body) < fixed {
		return Record{}, errors.New("short record")
	}
	st := int(body[0] &^ flagPartial)
	if st != Stdout && st != Stderr {
		return Record{}, fmt.Errorf("bad stream %d", st)
	}
	return Record{
		Stream:  st,
		Partial: body[0]&flagPartial != 0,
		Seq:     binary.BigEndian.Uint64(body[1:9]),
		Time:    time.Unix(0, int64(binary.BigEndian.Uint64(body[9:17]))),
		Line:    body[fixed:],
	}, nil
}

// Writer appends records to a container's log, rotating at the caps.
type Writer struct {
	mu       sync.Mutex
	path     string
	maxSize  int64
	maxFiles int
	f        *os.File
	size     int64 // bytes of f known to hold whole records
	seq      uint64
	buf      []byte
	err      error // the last write error, reported once by Flush
}

// Create opens the log at path for appending, creating it if needed, and
// continues its sequence numbers. maxSize and maxFiles are the caps
// (MaxSize, MaxFiles); a file that ends in a torn record (a crash during a
// write) is cut back to its last whole record. Errors name the file.
func Create(path string, maxSize int64, maxFiles int) (*Writer, error) {
	if maxFiles < 1 {
		maxFiles = 1
	}
	w := &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles}
	if err := w.open(); err != nil {
		return nil, err
	}
	next, ok, err := lastSeq(w.f, w.size)
	if err != nil {
		w.f.Close()
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	if !ok {
		// A fresh file after a rotation: continue from the one before.
		if f, err := os.Open(Name(path, 1)); err == nil {
			if st, err := f.Stat(); err == nil {
				next, ok, _ = lastSeq(f, st.Size())
			}
			f.Close()
		}
	}
	if ok {
		w.seq = next + 1
	}
	return w, nil
}

// open opens (or creates) the current file and finds where its whole
// records end.
func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log: %w", err)
	}
	size := st.Size()
	if size < int64(len(Magic)) {
		if err := f.Truncate(0); err == nil {
			_, err = f.Write([]byte(Magic))
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("log %s: %w", w.path, err)
		}
		size = int64(len(Magic))
	} else {
		var m [len(Magic)]byte
		if _, err := f.ReadAt(m[:], 0); err != nil || string(m[:]) != Magic {
			f.Close()
			return fmt.Errorf("log %s: not a berth log of format %d", w.path, Magic[len(Magic)-1])
		}
		end, err := wholeEnd(f, size)
		if err != nil {
			f.Close()
			return fmt.Errorf("log %s: %w", w.path, err)
		}
		if end != size {
			if err := f.Truncate(end); err != nil {
				f.Close()
				return fmt.Errorf("log %s: %w", w.path, err)
			}
			size = end
		}
	}
	w.f, w.size = f, size
	return nil
}

// wholeEnd is the offset after the last whole record of a file of size
// bytes: size itself if its last record is intact, else found by a scan
// from the start.
func wholeEnd(f *os.File, size int64) (int64, error) {
	if size == int64(len(Magic)) {
		return size, nil
	}
	if _, _, err := recordBefore(f, size); err == nil {
		return size, nil
	}
	off := int64(len(Magic))
	for off < size {
		_, next, err := recordAt(f, off, size)
		if err != nil {
			break
		}
		off = next
	}
	return off, nil
}

// lastSeq is the sequence number of the last record of a file.
func lastSeq(f *os.File, size int64) (uint64, bool, error) {
	if size <= int64(len(Magic)) {
		return 0, false, nil
	}
	r, _, err := recordBefore(f, size)
	if err != nil {
		return 0, false, err
	}
	return r.Seq, true, nil
}

// Append buffers one record and returns its sequence number; Flush writes
// the buffer. stream is Stdout or Stderr.
func (w *Writer) Append(stream int, partial bool, t time.Time, line []byte) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := int64(len(w.buf) + 8 + fixed + len(line))
	if w.size > int64(len(Magic)) && w.size+n > w.maxSize {
		w.flushLocked()
		if err := w.rotate(); err != nil {
			w.err = err
		}
	}
	seq := w.seq
	w.seq++
	w.buf = appendRecord(w.buf, Record{Seq: seq, Time: t, Stream: stream, Partial: partial, Line: line})
	return seq
}

// Flush writes the buffered records with one write. If that fails, the
// records are dropped (their numbers stay used, so readers report them as
// lost), the file is cut back to its last whole record, and the error is
// returned; the Writer goes on with later records.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	err := w.err
	w.err = nil
	return err
}

func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	if w.f == nil {
		// A rotation failed to open the next file; try again.
		if err := w.open(); err != nil {
			w.err = err
			w.buf = w.buf[:0]
			return
		}
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		w.err = fmt.Errorf("log %s: %w", w.path, err)
		if n > 0 {
			w.f.Truncate(w.size)
		}
	} else {
		w.size += int64(n)
	}
	w.buf = w.buf[:0]
	if cap(w.buf) > 256<<10 {
		w.buf = nil // keep the monitor small after a burst
	}
}

func (w *Writer) rotate() error {
	w.f.Close()
	w.f = nil
	if w.maxFiles == 1 {
		if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log %s: rotate: %w", w.path, err)
		}
	}
	for i := w.maxFiles - 1; i > 0; i-- {
		err := os.Rename(Name(w.path, i-1), Name(w.path, i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log %s: rotate: %w", w.path, err)
		}
	}
	return w.open()
}

// Close flushes and closes the log.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		w.f = nil
	}
	return err
}

// Remove removes every file of the log at path.
func Remove(path string, maxFiles int) {
	for i := range maxFiles {
		os.Remove(Name(path, i))
	}
}

// recordAt reads the whole record at off in a file whose whole records end
// at or before size; it returns the record and the offset after it.
// io.ErrUnexpectedEOF means the record is not (yet) whole.
func recordAt(f io.ReaderAt, off, size int64) (Record, int64, error) {
	var hdr [4]byte
	if off+4 > size {
		return Record{}, 0, io.ErrUnexpectedEOF
	}
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return Record{}, 0, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n < fixed || n > maxRecord {
		return Record{}, 0, fmt.Errorf("damaged record at %d", off)
	}
	if off+8+n > size {
		return Record{}, 0, io.ErrUnexpectedEOF
	}
	b := make([]byte, n+4)
	if _, err := f.ReadAt(b, off+4); err != nil {
		return Record{}, 0, err
	}
	if int64(binary.BigEndian.Uint32(b[n:])) != n {
		return Record{}, 0, fmt.Errorf("damaged record at %d", off)
	}
	r, err := decodeBody(b[:n])
	if err != nil {
		return Record{}, 0, fmt.Errorf("record at %d: %w", off, err)
	}
	return r, off + 8 + n, nil
}

// recordBefore reads the record that ends at end, returning it and its
// offset.
func recordBefore(f io.ReaderAt, end int64) (Record, int64, error) {
	var tr [4]byte
	if end-4 < int64(len(Magic)) {
		return Record{}, 0, errors.New("no record")
	}
	if _, err := f.ReadAt(tr[:], end-4); err != nil {
		return Record{}, 0, err
	}
	n := int64(binary.BigEndian.Uint32(tr[:]))
	off := end - 8 - n
	if n < fixed || n > maxRecord || off < int64(len(Magic)) {
		return Record{}, 0, fmt.Errorf("damaged record before %d", end)
	}
	r, next, err := recordAt(f, off, end)
	if err != nil {
		return Record{}, 0, err
	}
	if next != end {
		return Record{}, 0, fmt.Errorf("damaged record before %d", end)
	}
	return r, off, nil
}
