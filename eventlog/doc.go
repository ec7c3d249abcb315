// Package eventlog reads berth's events back from the journal and serves
// them as docker's events (events.Message of github.com/moby/moby/api):
// `berthctl events` (through berthd on D-Bus) and the Engine API's
// GET /events.
//
// The journal is the only source: every event is an entry written by
// package events (BERTH_EVENT, MESSAGE_ID, subject fields), by berthd or,
// while berthd is gone, by berth-monitor, so the events of a run that
// happened while berthd was not running are read like any other. berth is
// built without cgo, so the journal is read by running journalctl
// (`-o json`, `--follow` to stream) and parsing its lines; only entries
// of root processes (_UID=0) named berthd or berth-monitor
// (SYSLOG_IDENTIFIER) that carry BERTH_EVENT are events, so no other user
// can forge one with logger(1).
//
// The mapping is generic: the MESSAGE_IDs shared by image, volume, network
// and daemon events give those types; any other event that names a
// container (BERTH_CONTAINER_ID) is a container event, whatever its kind,
// so a Kind added to package events needs no change here unless docker
// names its action differently (the actions table: a container's "remove"
// is docker's "destroy", an image's "remove" is "delete").
//
// Errors: filters that docker does not know, or that berth cannot apply,
// are errdefs.ErrInvalidArgument before anything is read; a journalctl
// that fails is reported with its message. Read is safe for concurrent
// use (each call runs its own journalctl).
package eventlog
