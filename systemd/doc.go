// Package systemd is berth's one adapter to systemd: socket activation,
// sd_notify, the journal, and the unit calls on systemd's D-Bus API
// (transient scopes). The rest of berth talks to it through small
// interfaces declared where they are used.
//
// A container's scope is stopped like any other stop of the container
// (`systemctl stop berth-<id>.scope` = `berthctl stop`): its KillSignal is
// SIGCONT, which a running payload does not notice and which the monitor
// takes as the request to stop (the container's stop signal through the
// runtime, SIGKILL to all of it after the stop timeout); TimeoutStopSec is a
// little above the stop timeout, so systemd's own SIGKILL still reaches
// every process if the monitor fails. Not chosen: systemd's SIGTERM to
// every process (the payload and its children would get a signal that is
// not the container's stop signal), KillMode=none (deprecated, and no
// SIGKILL at the end), and a scope Controller that systemd asks with
// RequestStop (it must be a live bus peer; berthd exits when idle and the
// monitor does not speak D-Bus).
//
// Errors from unit calls wrap errdefs classes: a unit that does not exist
// is errdefs.ErrNotFound, a refused property set errdefs.ErrInvalidArgument.
package systemd
