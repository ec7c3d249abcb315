package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// State is the lifecycle state of a container, as reported on D-Bus and in
// inspect output.
type State int

// The states, in the order of design.md.
const (
	Created State = iota
	Running
	Paused
	Restarting
	Exited
	Dead
)

var stateNames = [...]string{"created", "running", "paused", "restarting", "exited", "dead"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// ParseState is the inverse of String.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("container state %q: %w", name, errdefs.ErrInvalidArgument)
}

// MarshalJSON stores states by name so that records stay readable and
// stable if constants are ever reordered.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON accepts the names written by MarshalJSON.
func (s *State) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseState(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Live reports whether a container in this state has (or is about to have)
// a monitor and a scope.
func (s State) Live() bool { return s == Running || s == Paused || s == Restarting }

// Op is an operation requested on a container.
type Op int

// The operations that the transition table rules on.
const (
	OpStart Op = iota
	OpStop
	OpKill
	OpPause
	OpUnpause
	OpExec
	OpAttach
	OpRestart
	OpRemove
	OpForceRemove
	OpExit   // the monitor recorded an exit
	OpCopy   // cp to or from its file system
	OpCommit // a new image from its file system
	OpUpdate // change its resource limits
)

var opNames = [...]string{"start", "stop", "kill", "pause", "unpause", "exec", "attach", "restart", "remove", "force-remove", "exit", "copy", "commit", "update"}

func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("op(%d)", int(o))
	}
	return opNames[o]
}

// Ops lists every operation, for tests that walk the whole matrix.
func Ops() []Op {
	ops := make([]Op, len(opNames))
	for i := range ops {
		ops[i] = Op(i)
	}
	return ops
}

// States lists every state, for tests that walk the whole matrix.
func States() []State {
	s := make([]State, len(stateNames))
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// allowed is the one transition table. A missing entry is refused.
// Stopping a container that is not running is allowed (a no-op that
// succeeds, as with docker); the caller decides what "no-op" means.
var allowed = map[State]map[Op]bool{
	Created:    {OpStart: true, OpStop: true, OpRestart: true, OpRemove: true, OpForceRemove: true, OpAttach: true, OpCopy: true, OpCommit: true, OpUpdate: true},
	Running:    {OpStop: true, OpKill: true, OpPause: true, OpExec: true, OpAttach: true, OpRestart: true, OpForceRemove: true, OpExit: true, OpCopy: true, OpCommit: true, OpUpdate: true},
	Paused:     {OpStop: true, OpKill: true, OpUnpause: true, OpRestart: true, OpForceRemove: true, OpExit: true, OpCopy: true, OpCommit: true, OpUpdate: true},
	Restarting: {OpStop: true, OpForceRemove: true, OpExit: true, OpUpdate: true},
	Exited:     {OpStart: true, OpStop: true, OpRestart: true, OpRemove: true, OpForceRemove: true, OpCopy: true, OpCommit: true, OpUpdate: true},
	Dead:       {OpRemove: true, OpForceRemove: true},
}

// TransitionError says that an operation is not allowed in a state. It
// unwraps to errdefs.ErrConflict, so it maps to one D-Bus error name.
type TransitionError struct {
	From State
	Op   Op
}

func (e *TransitionError) Error() string {
	switch {
	case e.Op == OpRemove && e.From.Live():
		return fmt.Sprintf("cannot remove a %s container: stop it first or force the removal", e.From)
	default:
		return fmt.Sprintf("cannot %s %s %s container", e.Op, article(e.From.String()), e.From)
	}
}

// article is the indefinite article before word: "an" before a vowel.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// Unwrap makes errors.Is(err, errdefs.ErrConflict) true.
func (e *TransitionError) Unwrap() error { return errdefs.ErrConflict }

// Check returns nil if op is allowed in state from, else a *TransitionError.
func Check(from State, op Op) error {
	if allowed[from][op] {
		return nil
	}
	return &TransitionError{From: from, Op: op}
}
