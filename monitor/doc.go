// Package monitor is berth-monitor: one small process per container start
// that lives in the container's scope, runs the OCI runtime, owns the
// container's stdio and outlives berthd.
//
// On-disk layout (written by berthd before the monitor starts):
//
//	<exec-root>/containers/<id>/monitor.json   Config, versioned
//	<exec-root>/containers/<id>/bundle/        the OCI bundle
//
// and by the monitor:
//
//	<exec-root>/containers/<id>/monitor.sock   requests (attach, exec, stop)
//	<exec-root>/containers/<id>/runtime.log    the runtime's JSON log
//	<data-root>/containers/<id>/exit.json      Exit, written atomically
//	<data-root>/containers/<id>/restart.json   Restart (restart policy), atomically
//	<data-root>/containers/<id>/container.log  the local log (package logfile)
//
// Start protocol: berthd passes one end of a socket pair as fd 3. The
// monitor waits for a Go line (JSON) naming the scope's cgroup, moves into
// its supervisor/ leaf, creates the container and answers with a Started
// line. If the pair closes first, the monitor exits without doing anything.
//
// Requests on monitor.sock are one JSON line (Request), answered by one
// JSON line (Reply); attach and exec connections then carry stream frames.
// The types, paths and limits of both protocols are package contract's.
//
// Runtime calls go through containerd's go-runc with the run's recorded
// runtime path and root; the monitor's reaper is go-runc's ProcessMonitor
// (it is the one waiter of the process: a child subreaper that reaps every
// child and orphan). The runtime hands the payload its own stdio, so the
// monitor reads the payload's pipes while a runtime call runs: no runtime
// output, however long, can block a call, and what was read goes to the
// output's first reader. Runtime errors come from the runtime's JSON log
// (the last error after the call began), cut to contract.MaxMessage.
//
// Restart policy (restart.go): after an exit that Config.Restart (or a
// --health-on-failure restart) restarts, the monitor deletes the runtime's
// container, waits the back-off and runs the same bundle again in the same
// scope, with restarting and restarted notices to berthd (it never starts
// berthd for them; without one it writes the die and restart events). A
// stop request or SIGTERM/SIGCONT ends the loop; the run ends, with its
// exit record, only at an exit that is not restarted.
//
// Signals: SIGTERM and SIGCONT (the scope's KillSignal, see package
// systemd) ask for a stop: the container's stop signal through the
// runtime, a thaw, SIGKILL to all of it after the stop timeout. The stop
// signal goes only to the payload, never to runc's init helper before its
// exec (see mon.awaitExec).
package monitor
