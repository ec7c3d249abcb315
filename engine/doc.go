// Package engine is berthd's run loop: it takes the sockets systemd passed
// (or listens itself), checks the data-root and exec-root against the
// roots record, writes runtime wrappers, connects to systemd and to the
// system bus, loads the containers (lifecycle) and images, serves the
// D-Bus API and the HTTP socket, reloads on request or SIGHUP, and returns
// when berthd has been idle for the idle timeout, when its context ends
// (SIGTERM) or when its bus connection is gone.
//
// On-disk state: the roots record (DefaultRootsFile, JSON with a format
// version) and, through the packages it wires, everything under data-root
// and exec-root.
//
// Connections: a connection to systemd that systemd closes (daemon-reexec)
// is made again by package systemd. A lost system bus connection ends Run
// with ErrBusLost: the name io.berth.Engine1 went with it, so the next
// call activates a fresh berthd (bus and socket activation); exiting is
// simpler and as quick as taking the name again on a new connection, and
// running containers do not depend on berthd.
//
// Errors: Run returns errors wrapping errdefs classes where the cause is
// known (a changed data-root with containers under the old one is
// FailedPrecondition, an invalid configuration InvalidArgument).
package engine
