package monitor

import (
	"strings"
	"testing"

	"github.com/berthd/berth/monitor/contract"
	"github.com/berthd/berth/systemd"
)

// Lines are split where docker's journald driver splits them: pieces of
// MaxLine bytes marked partial, then the rest; a line of exactly MaxLine
// bytes is whole.
func TestLineSplittingAtMaxLine(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	type piece struct {
		n       int // length
		partial bool
	}
	for _, tc := range []struct {
		name   string
		chunks []string
		close  bool
		want   []piece
	}{
		{"exactly MaxLine", []string{x(MaxLine) + "\n"}, false, []piece{{MaxLine, false}}},
		{"MaxLine held until its newline", []string{x(MaxLine), "\n"}, false, []piece{{MaxLine, false}}},
		{"MaxLine+1", []string{x(MaxLine+1) + "\n"}, false, []piece{{MaxLine, true}, {1, false}}},
		{"twice MaxLine", []string{x(2*MaxLine) + "\n"}, false, []piece{{MaxLine, true}, {MaxLine, false}}},
		{"three pieces across chunks", []string{x(MaxLine), x(MaxLine), x(5) + "\n"}, false,
			[]piece{{MaxLine, true}, {MaxLine, true}, {5, false}}},
		{"a piece is cut before its newline comes", []string{x(MaxLine + 3)}, false, []piece{{MaxLine, true}}},
		{"the rest at close", []string{x(MaxLine + 3)}, true, []piece{{MaxLine, true}, {3, false}}},
		{"empty lines", []string{"\n\n"}, false, []piece{{0, false}, {0, false}}},
		{"CRLF ends a line", []string{x(3) + "\r\n"}, false, []piece{{3, false}}},
		{"a CR inside a long line stays", []string{x(MaxLine-1) + "\r" + x(2) + "\n"}, false,
			[]piece{{MaxLine, true}, {2, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []piece
			j := newJournalLogger(contract.Config{ID: "0123456789abcdef", Name: "web", ContainerDir: t.TempDir()})
			j.send = func(_ systemd.Priority, msg string, vars map[string]string) {
				got = append(got, piece{len(msg), vars["CONTAINER_PARTIAL_MESSAGE"] == "true"})
			}
			if err := j.openLocal(); err != nil {
				t.Fatal(err)
			}
			w := j.stream(1)
			for _, c := range tc.chunks {
				w.write([]byte(c))
			}
			if tc.close {
				w.close()
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
