// Package contract is the wire and on-disk contract between berthd and
// berth-monitor: the monitor's Config (monitor.json), the start pipe's Go
// and Started lines, the requests and replies on monitor.sock and the exit
// record (exit.json). berthd (package lifecycle) imports this package and
// never the monitor's implementation.
//
// Compatibility: every Config and Exit carries FormatVersion; readers
// accept any version up to their own, and a newer berthd talks to the
// monitors of an older one (package upgrades happen under running
// containers), so fields are only ever added, with zero values that mean
// what an older writer meant.
//
// Errors: ReadExit returns an error wrapping os.ErrNotExist when a run has
// not ended; Call returns the monitor's own message when it refuses a
// request. Nothing here holds state; everything is safe for concurrent use.
package contract
