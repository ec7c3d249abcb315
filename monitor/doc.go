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
//	<data-root>/containers/<id>/container.log  the local log (package logfile)
//
// Start protocol: berthd passes one end of a socket pair as fd 3. The
// monitor waits for a Go line (JSON) naming the scope's cgroup, moves into
// its supervisor/ leaf, creates the container and answers with a Started
// line. If the pair closes first, the monitor exits without doing anything.
//
// Requests on monitor.sock are one JSON line (Request), answered by one
// JSON line (Reply); attach and exec connections then carry stream frames.
package monitor
