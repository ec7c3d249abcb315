package lifecycle

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestTransitionMatrix spells out every (state, op) pair so that a change to
// the table shows up here as a deliberate edit.
func TestTransitionMatrix(t *testing.T) {
	// Rows: states in order; columns: ops in order of Ops().
	// start stop kill pause unpause exec attach restart remove force-remove exit copy commit update
	want := map[State]string{
		Created:    "YY....YYYY.YYY",
		Running:    ".YYY.YYY.YYYYY",
		Paused:     ".YY.Y..Y.YYYYY",
		Restarting: ".Y.......YY..Y",
		Exited:     "YY.....YYY.YYY",
		Dead:       "........YY.",
	}
	for _, s := range States() {
		row := want[s]
		// pad: the literal rows above omit trailing refusals
		for len(row) < len(Ops()) {
			row += "."
		}
		for i, op := range Ops() {
			t.Run(s.String()+"/"+op.String(), func(t *testing.T) {
				err := Check(s, op)
				if row[i] == 'Y' && err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				if row[i] == '.' {
					if err == nil {
						t.Fatal("want refused, got nil")
					}
					var te *TransitionError
					if !errors.As(err, &te) || te.From != s || te.Op != op {
						t.Fatalf("want *TransitionError{%v,%v}, got %#v", s, op, err)
					}
					if !errdefs.IsConflict(err) {
						t.Fatalf("want a conflict, got %v", err)
					}
				}
			})
		}
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	for _, s := range States() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got State
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got != s {
			t.Fatalf("%v: round trip gave %v", s, got)
		}
	}
	var s State
	if err := json.Unmarshal([]byte(`"zombie"`), &s); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("unknown state: want invalid argument, got %v", err)
	}
}

func TestRemoveRunningMessage(t *testing.T) {
	err := Check(Running, OpRemove)
	if err == nil || err.Error() != "cannot remove a running container: stop it first or force the removal" {
		t.Fatalf("got %v", err)
	}
}

func TestTransitionMessageArticle(t *testing.T) {
	for _, tc := range []struct {
		from State
		op   Op
		want string
	}{
		{Exited, OpExec, "cannot exec an exited container"},
		{Exited, OpAttach, "cannot attach an exited container"},
		{Paused, OpExec, "cannot exec a paused container"},
		{Running, OpStart, "cannot start a running container"},
	} {
		if err := Check(tc.from, tc.op); err == nil || err.Error() != tc.want {
			t.Errorf("%s %s: got %v, want %q", tc.op, tc.from, err, tc.want)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	// NAME alone removes NAME (docker's rule), also when it is not set.
	got := mergeEnv([]string{"PATH=/bin", "A=1", "B=2"}, []string{"A=x", "C=3", "B", "UNSET"})
	want := []string{"PATH=/bin", "A=x", "C=3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %q, want %q", got, want)
	}
}
