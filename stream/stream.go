package stream

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// Kind is a frame type.
type Kind byte

// Frame kinds. Stdin, CloseStdin, Resize and Signal go from client to
// monitor; the rest go to the client.
const (
	Stdin      Kind = 0
	Stdout     Kind = 1
	Stderr     Kind = 2
	Exit       Kind = 3 // payload: int32 exit code
	CloseStdin Kind = 4
	Resize     Kind = 5 // payload: uint16 rows, uint16 cols
	Signal     Kind = 6 // payload: int32 signal number
	Error      Kind = 7 // payload: message text; the stream ends after it
	// Notice is a message for the user about the stream itself (lines
	// that a log no longer holds, say), not output; clients print it to
	// stderr. Clients that do not know it skip it.
	Notice Kind = 8
)

// MaxPayload bounds one frame.
const MaxPayload = 1 << 20

// Writer writes frames; it is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sends one frame, splitting payloads above MaxPayload.
func (w *Writer) Write(k Kind, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		n := len(p)
		if n > MaxPayload {
			n = MaxPayload
		}
		var hdr [5]byte
		hdr[0] = byte(k)
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		if _, err := w.w.Write(append(hdr[:], p[:n]...)); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// WriteInt sends a frame whose payload is one int32.
func (w *Writer) WriteInt(k Kind, v int32) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return w.Write(k, b[:])
}

// Read reads one frame. It returns io.EOF only at a frame boundary.
func Read(r io.Reader) (Kind, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, fmt.Errorf("stream: truncated frame header")
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("stream: frame of %d bytes exceeds the limit", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("stream: truncated frame: %w", err)
	}
	return Kind(hdr[0]), p, nil
}

// Int decodes an int32 payload.
func Int(p []byte) (int32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("stream: want a 4-byte payload, got %d bytes", len(p))
	}
	return int32(binary.BigEndian.Uint32(p)), nil
}

// ResizePayload encodes a terminal size.
func ResizePayload(rows, cols uint16) []byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[:2], rows)
	binary.BigEndian.PutUint16(b[2:], cols)
	return b[:]
}

// ParseResize decodes a Resize payload.
func ParseResize(p []byte) (rows, cols uint16, err error) {
	if len(p) != 4 {
		return 0, 0, fmt.Errorf("stream: resize wants 4 bytes, got %d", len(p))
	}
	return binary.BigEndian.Uint16(p[:2]), binary.BigEndian.Uint16(p[2:]), nil
}
