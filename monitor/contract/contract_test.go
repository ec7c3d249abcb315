package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
		err      error
		rest     string // what stays unread
	}{
		{name: "one line", in: "abc\n", max: 10, want: "abc"},
		{name: "nothing past the line is consumed", in: "abc\nframes", max: 10, want: "abc", rest: "frames"},
		{name: "empty line", in: "\n", max: 10, want: ""},
		{name: "too long", in: strings.Repeat("x", 10) + "\n", max: 10, err: ErrLineTooLong},
		{name: "just fits", in: strings.Repeat("x", 9) + "\n", max: 10, want: strings.Repeat("x", 9)},
		{name: "no newline", in: "abc", max: 10, err: io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.in)
			got, err := ReadLine(r, tc.max)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %q, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != tc.rest {
				t.Fatalf("left %q unread, want %q", rest, tc.rest)
			}
		})
	}
}

func TestReadRequest(t *testing.T) {
	big := `{"op":"exec","process":"` + strings.Repeat("a", MaxRequest) + `"}` + "\n"
	for _, tc := range []struct {
		name, in string
		want     Request
		err      string // a substring of the error; "" for none
		is       error
	}{
		{name: "stop", in: `{"op":"stop","timeout":3}` + "\n", want: Request{Op: OpStop, Timeout: 3}},
		{name: "stop with a signal", in: `{"op":"stop","timeout":3,"signal":2}` + "\n", want: Request{Op: OpStop, Timeout: 3, Signal: 2}},
		{name: "attach with stdin", in: `{"op":"attach","stdin":true}` + "\n", want: Request{Op: OpAttach, Stdin: true}},
		{name: "unknown fields are ignored", in: `{"op":"stop","new":1}` + "\n", want: Request{Op: OpStop}},
		{name: "not JSON", in: "hello\n", err: "bad request"},
		{name: "more than one line", in: `{"op":"stop"}` + "\n" + `{"op":"stop"}` + "\n", err: "data after the request line"},
		{name: "too long", in: big, is: ErrLineTooLong},
		{name: "connection closed", in: `{"op":`, is: io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadRequest(strings.NewReader(tc.in))
			switch {
			case tc.is != nil:
				if !errors.Is(err, tc.is) {
					t.Fatalf("got %v, want %v", err, tc.is)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case got.Op != tc.want.Op || got.Timeout != tc.want.Timeout || got.Stdin != tc.want.Stdin:
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Call sends one line and returns the connection positioned after the
// reply; a refusal comes back as the monitor's message.
func TestCall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply string
		after string // sent after the reply (a stream)
		err   string
	}{
		{name: "accepted, stream follows", reply: `{"pid":42}`, after: "stream bytes"},
		{name: "refused", reply: `{"error":"container is not running"}`, err: "container is not running"},
		{name: "garbage", reply: `pid 42`, err: "monitor reply"},
		{name: "no reply", err: "monitor reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := net.Listen("unix", SocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := make(chan Request, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				req, _ := ReadRequest(c)
				got <- req
				if tc.reply != "" {
					c.Write([]byte(tc.reply + "\n" + tc.after))
				}
			}()
			conn, err := Call(t.Context(), dir, Request{Op: OpAttach, Stdin: true}, 2*time.Second)
			if req := <-got; req.Op != OpAttach || !req.Stdin {
				t.Errorf("monitor got %+v", req)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			rest, _ := io.ReadAll(conn)
			if string(rest) != tc.after {
				t.Fatalf("stream %q, want %q", rest, tc.after)
			}
		})
	}
}

func TestReadExit(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // "" for none
		err  string
		is   error
	}{
		{name: "none yet", is: os.ErrNotExist},
		{name: "this version", file: `{"version":1,"id":"c","run_id":3,"exit_code":7}`},
		{name: "an older writer", file: `{"id":"c","run_id":3,"exit_code":7}`},
		{name: "a newer writer", file: `{"version":99,"id":"c","run_id":3,"exit_code":7}`, err: "newer"},
		{name: "torn", file: `{"version":1,`, err: "exit record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, "exit.json"), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ex, err := ReadExit(dir)
			switch {
			case tc.is != nil:
				if !errors.Is(err, tc.is) {
					t.Fatalf("got %v, want %v", err, tc.is)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case ex.RunID != 3 || ex.ExitCode != 7:
				t.Fatalf("got %+v", ex)
			}
		})
	}
}

// The wire names stay what older monitors and berthds wrote.
func TestWireNames(t *testing.T) {
	b, err := json.Marshal(Exit{Version: FormatVersion, ID: "c", Run: "r2", ExitCode: 1, Removed: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{fmt.Sprintf(`"version":%d`, FormatVersion), `"id":"c"`, `"run":"r2"`, `"exit_code":1`, `"removed":true`, `"boot_id"`, `"finished_at"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("exit record %s lacks %s", b, k)
		}
	}
	b, _ = json.Marshal(Request{Op: OpExec, Stdin: true, TTY: true, Timeout: 3, Process: json.RawMessage(`{}`)})
	if want := `{"op":"exec","stdin":true,"tty":true,"timeout":3,"process":{}}`; string(b) != want {
		t.Errorf("request %s, want %s", b, want)
	}
	b, _ = json.Marshal(Request{Op: OpStop, Timeout: 3, Signal: 2})
	if want := `{"op":"stop","timeout":3,"signal":2}`; string(b) != want {
		t.Errorf("request %s, want %s", b, want)
	}
}

func TestCut(t *testing.T) {
	long := "head" + strings.Repeat("-", 70000) + "cause: file name too long"
	for _, tc := range []struct {
		name, in string
		max      int
		keep     []string
	}{
		{name: "short stays", in: "boom", max: 10, keep: []string{"boom"}},
		{name: "long keeps head and tail", in: long, max: MaxMessage, keep: []string{"head", "file name too long", "bytes cut"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Cut(tc.in, tc.max)
			if len(got) > tc.max+64 {
				t.Fatalf("%d bytes, want about %d", len(got), tc.max)
			}
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Fatalf("%q lacks %q", got, k)
				}
			}
		})
	}
}
