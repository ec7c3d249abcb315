// Package dbusapi exports berth on the system bus as io.berth.Engine1:
// the manager object /io/berth/Engine1 (io.berth.Engine1.Manager) and one
// object per container under /io/berth/Engine1/container/<escaped id>
// (io.berth.Engine1.Container). introspect.xml is the contract; a test
// checks the exported Go methods against it.
//
// Access: anyone may list containers and read their properties; every
// other call needs uid 0 or membership of group "berth" (checked from the
// caller's credentials on the bus, never from the message) and otherwise
// fails with org.freedesktop.DBus.Error.AccessDenied.
//
// Errors: lifecycle's errdefs classes become D-Bus error names in one
// place (ToDBus); FromDBus turns them back for clients.
package dbusapi
