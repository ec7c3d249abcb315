package stream

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	big := bytes.Repeat([]byte("x"), MaxPayload+10)
	if err := w.Write(Stdout, []byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Stderr, big); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInt(Exit, -3); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		k Kind
		n int
	}{{Stdout, 3}, {Stderr, MaxPayload}, {Stderr, 10}, {Exit, 4}}
	for _, f := range want {
		k, p, err := Read(&buf)
		if err != nil || k != f.k || len(p) != f.n {
			t.Fatalf("got %v %d %v, want %v %d", k, len(p), err, f.k, f.n)
		}
		if k == Exit {
			if v, _ := Int(p); v != -3 {
				t.Fatalf("exit %d", v)
			}
		}
	}
	if _, _, err := Read(&buf); err != io.EOF {
		t.Fatalf("want EOF at boundary, got %v", err)
	}
}

func TestTruncatedAndOversized(t *testing.T) {
	if _, _, err := Read(strings.NewReader("\x01\x00")); err == nil || err == io.EOF {
		t.Fatalf("truncated header: %v", err)
	}
	if _, _, err := Read(strings.NewReader("\x01\x00\x00\x00\x05ab")); err == nil {
		t.Fatal("truncated payload accepted")
	}
	if _, _, err := Read(strings.NewReader("\x01\xff\xff\xff\xff")); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized: %v", err)
	}
	r, c, err := ParseResize(ResizePayload(24, 80))
	if err != nil || r != 24 || c != 80 {
		t.Fatalf("resize %d %d %v", r, c, err)
	}
}
