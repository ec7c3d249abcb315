package monitor

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/berthd/berth/logs/logfile"
	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
)

type entry struct {
	pri     systemd.Priority
	msg     string
	partial bool
}

// Output reaches the local log and the journal as the same lines, cut at
// MaxLine, and the local log holds every whole line when write returns.
func TestOutputLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+100)
	tests := []struct {
		name   string
		kind   int
		chunks []string
		close  bool
		want   []entry
	}{
		{"lines across chunks", 1, []string{"a\nb", "c\n"}, false,
			[]entry{{systemd.PriInfo, "a", false}, {systemd.PriInfo, "bc", false}}},
		{"stderr, carriage return dropped", 2, []string{"oops\r\n"}, false,
			[]entry{{systemd.PriErr, "oops", false}}},
		{"long line split", 1, []string{long + "\n"}, false,
			[]entry{{systemd.PriInfo, long[:MaxLine], true}, {systemd.PriInfo, long[MaxLine:], false}}},
		{"unfinished line at close", 1, []string{"no newline"}, true,
			[]entry{{systemd.PriInfo, "no newline", false}}},
		{"unfinished line kept until close", 1, []string{"no newline"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var journal []entry
			j := newJournalLogger(contract.Config{ID: "0123456789abcdef", Name: "web", ContainerDir: dir})
			j.send = func(pri systemd.Priority, msg string, vars map[string]string) {
				if vars["CONTAINER_NAME"] != "web" || vars["CONTAINER_ID"] != "0123456789ab" {
					t.Errorf("journal fields %v", vars)
				}
				journal = append(journal, entry{pri, msg, vars["CONTAINER_PARTIAL_MESSAGE"] == "true"})
			}
			if err := j.openLocal(); err != nil {
				t.Fatal(err)
			}
			w := j.stream(tt.kind)
			for _, c := range tt.chunks {
				w.write([]byte(c))
			}
			if tt.close {
				w.close()
			}
			if len(journal) != len(tt.want) {
				t.Fatalf("journal got %d entries, want %d", len(journal), len(tt.want))
			}
			r, err := logfile.Open(logfile.Path(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for i, want := range tt.want {
				if journal[i] != want {
					t.Errorf("journal entry %d: %v, want %v", i, journal[i], want)
				}
				rec, _, err := r.Next()
				if err != nil {
					t.Fatalf("local record %d: %v", i, err)
				}
				wantStream := logfile.Stdout
				if tt.kind == 2 {
					wantStream = logfile.Stderr
				}
				if string(rec.Line) != want.msg || rec.Partial != want.partial || rec.Stream != wantStream {
					t.Errorf("local record %d: %q partial=%v stream=%d", i, rec.Line, rec.Partial, rec.Stream)
				}
			}
			if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("more local records than journal entries: %v", err)
			}
		})
	}
}
