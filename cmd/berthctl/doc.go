// Command berthctl controls berthd over the system bus with docker's
// grammar: every verb is a cobra command with pflag flags, so --help,
// shell completion and the man pages (make man, built with -tags man)
// come from the same definitions and cannot drift.
//
// Invariants:
//   - berthctl links no engine package: only dbusapi/contract (names, wire
//     types, the error mapping), errs (subjects) and stream (framing).
//   - Decisions on failures use D-Bus error names mapped back to subjects
//     and classes (errors.Is(err, errs.NoSuchImage)), never message text.
//   - Exit codes: the payload's own code for run, start -a and exec; 127
//     when its command does not exist (errs.CommandNotFound), 126 when it
//     cannot be run (errs.CommandNotExecutable), 125 for berth's failures
//     and command-line mistakes; other verbs exit 1 on failure.
//   - Every option is checked before the first call that changes state, so
//     a refused command line (-e =foo, a bad size, a bad filter) leaves
//     nothing behind.
//   - Templates (--format, -f) and ps filters run on the client over what
//     ListContainers, ListImages and Inspect* return.
package main
