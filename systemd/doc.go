// Package systemd is berth's one adapter to systemd: socket activation,
// sd_notify, the journal, and the unit calls on systemd's D-Bus API
// (transient scopes). The rest of berth talks to it through small
// interfaces declared where they are used.
//
// Errors from unit calls wrap errdefs classes: a unit that does not exist
// is errdefs.ErrNotFound, a refused property set errdefs.ErrInvalidArgument.
package systemd
