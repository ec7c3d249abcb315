// Package contract holds the names of berth's D-Bus API and the one mapping
// between errors and D-Bus error names, for the server (dbusapi) and for
// clients, which should not link the engine.
package contract

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// Names on the bus.
const (
	BusName            = "io.berth.Engine1"
	ManagerPath        = dbus.ObjectPath("/io/berth/Engine1")
	ManagerInterface   = "io.berth.Engine1.Manager"
	ContainerInterface = "io.berth.Engine1.Container"
	ImageInterface     = "io.berth.Engine1.Image"
)

// D-Bus error names.
const (
	ErrNoSuchContainer = "io.berth.Engine1.Error.NoSuchContainer"
	ErrContainerExists = "io.berth.Engine1.Error.ContainerExists"
	ErrInvalidArgument = "io.berth.Engine1.Error.InvalidArgument"
	ErrInvalidState    = "io.berth.Engine1.Error.InvalidState"
	ErrUnavailable     = "io.berth.Engine1.Error.Unavailable"
	ErrNotImplemented  = "io.berth.Engine1.Error.NotImplemented"
	ErrPrecondition    = "io.berth.Engine1.Error.FailedPrecondition"
	ErrInternal        = "io.berth.Engine1.Error.Internal"
	ErrAccessDenied    = "org.freedesktop.DBus.Error.AccessDenied"
	ErrServiceUnknown  = "org.freedesktop.DBus.Error.ServiceUnknown"
)

var classes = []struct {
	name  string
	class error
	is    func(error) bool
}{
	{ErrNoSuchContainer, errdefs.ErrNotFound, errdefs.IsNotFound},
	{ErrContainerExists, errdefs.ErrAlreadyExists, errdefs.IsAlreadyExists},
	{ErrInvalidArgument, errdefs.ErrInvalidArgument, errdefs.IsInvalidArgument},
	{ErrInvalidState, errdefs.ErrConflict, errdefs.IsConflict},
	{ErrAccessDenied, errdefs.ErrPermissionDenied, errdefs.IsPermissionDenied},
	{ErrUnavailable, errdefs.ErrUnavailable, errdefs.IsUnavailable},
	{ErrNotImplemented, errdefs.ErrNotImplemented, errdefs.IsNotImplemented},
	{ErrPrecondition, errdefs.ErrFailedPrecondition, errdefs.IsFailedPrecondition},
}

// ToDBus maps an error to a named D-Bus error carrying its message.
func ToDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	var de *dbus.Error
	if errors.As(err, &de) {
		return de
	}
	for _, c := range classes {
		if c.is(err) {
			return dbus.NewError(c.name, []any{message(err, c.class)})
		}
	}
	return dbus.NewError(ErrInternal, []any{err.Error()})
}

// message drops the trailing ": <class>" that wrapping leaves, so users
// read "container \"x\": not found" once, not twice.
func message(err error, class error) string {
	s := err.Error()
	return strings.TrimSuffix(s, ": "+class.Error())
}

// FromDBus maps a D-Bus error back to an errdefs class, keeping the
// message.
func FromDBus(err error) error {
	var de dbus.Error
	if !errors.As(err, &de) {
		var dp *dbus.Error
		if !errors.As(err, &dp) {
			return err
		}
		de = *dp
	}
	msg := de.Name
	if len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok {
			msg = s
		}
	}
	for _, c := range classes {
		if c.name == de.Name {
			return fmt.Errorf("%s: %w", msg, c.class)
		}
	}
	if de.Name == ErrServiceUnknown || strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn") {
		return fmt.Errorf("%s: %w", msg, errdefs.ErrUnavailable)
	}
	return errors.New(msg)
}
