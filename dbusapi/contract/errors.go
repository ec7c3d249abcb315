package contract

import (
	"errors"
	"fmt"
	"strings"

	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// D-Bus error names: one per subject of package errs, then one per errdefs
// class for errors that carry no subject.
const (
	ErrNoSuchContainer      = "io.berth.Engine1.Error.NoSuchContainer"
	ErrNoSuchImage          = "io.berth.Engine1.Error.NoSuchImage"
	ErrNoSuchRuntime        = "io.berth.Engine1.Error.NoSuchRuntime"
	ErrNoSuchPlatform       = "io.berth.Engine1.Error.NoSuchPlatform"
	ErrNoSuchVolume         = "io.berth.Engine1.Error.NoSuchVolume"
	ErrNoSuchNetwork        = "io.berth.Engine1.Error.NoSuchNetwork"
	ErrNameInUse            = "io.berth.Engine1.Error.NameInUse"
	ErrCommandNotFound      = "io.berth.Engine1.Error.CommandNotFound"
	ErrCommandNotExecutable = "io.berth.Engine1.Error.CommandNotExecutable"

	ErrNotFound        = "io.berth.Engine1.Error.NotFound"
	ErrAlreadyExists   = "io.berth.Engine1.Error.AlreadyExists"
	ErrInvalidArgument = "io.berth.Engine1.Error.InvalidArgument"
	ErrInvalidState    = "io.berth.Engine1.Error.InvalidState"
	ErrUnavailable     = "io.berth.Engine1.Error.Unavailable"
	ErrNotImplemented  = "io.berth.Engine1.Error.NotImplemented"
	ErrPrecondition    = "io.berth.Engine1.Error.FailedPrecondition"
	ErrInternal        = "io.berth.Engine1.Error.Internal"
	ErrAccessDenied    = "org.freedesktop.DBus.Error.AccessDenied"
	ErrServiceUnknown  = "org.freedesktop.DBus.Error.ServiceUnknown"
)

// subjects are matched before classes: every subject also unwraps to a
// class, and the subject's name is the more precise answer.
var subjects = []struct {
	name    string
	subject *errs.Subject
}{
	{ErrNoSuchContainer, errs.NoSuchContainer},
	{ErrNoSuchImage, errs.NoSuchImage},
	{ErrNoSuchRuntime, errs.NoSuchRuntime},
	{ErrNoSuchPlatform, errs.NoSuchPlatform},
	{ErrNoSuchVolume, errs.NoSuchVolume},
	{ErrNoSuchNetwork, errs.NoSuchNetwork},
	{ErrNameInUse, errs.NameInUse},
	{ErrCommandNotFound, errs.CommandNotFound},
	{ErrCommandNotExecutable, errs.CommandNotExecutable},
}

var classes = []struct {
	name  string
	class error
}{
	{ErrNotFound, errdefs.ErrNotFound},
	{ErrAlreadyExists, errdefs.ErrAlreadyExists},
	{ErrInvalidArgument, errdefs.ErrInvalidArgument},
	{ErrInvalidState, errdefs.ErrConflict},
	{ErrAccessDenied, errdefs.ErrPermissionDenied},
	{ErrUnavailable, errdefs.ErrUnavailable},
	{ErrNotImplemented, errdefs.ErrNotImplemented},
	{ErrPrecondition, errdefs.ErrFailedPrecondition},
}

// ToDBus maps an error to a named D-Bus error carrying its message: the
// name of its subject (package errs) if it wraps one, else the name of its
// errdefs class, else ErrInternal. A *dbus.Error passes through.
func ToDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	var de *dbus.Error
	if errors.As(err, &de) {
		return de
	}
	for _, s := range subjects {
		if errors.Is(err, s.subject) {
			return dbus.NewError(s.name, []any{cut(err.Error())})
		}
	}
	for _, c := range classes {
		if errors.Is(err, c.class) {
			return dbus.NewError(c.name, []any{cut(message(err, c.class))})
		}
	}
	return dbus.NewError(ErrInternal, []any{cut(err.Error())})
}

// MaxMessage bounds an error message on the bus: a message that quotes a
// huge argument back (a 1 MB name, say) is cut in the middle, keeping its
// start (the subject) and its end (the reason).
const MaxMessage = 2048

func cut(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	half := MaxMessage / 2
	return fmt.Sprintf("%s …(%d bytes cut)… %s", strings.ToValidUTF8(s[:half], ""), len(s)-2*half, strings.ToValidUTF8(s[len(s)-half:], ""))
}

// message drops the trailing ": <class>" that wrapping leaves, so users
// read "container \"x\": not found" once, not twice. A subject's message
// is kept whole: it is the wording users read ("no such image").
func message(err error, class error) string {
	return strings.TrimSuffix(err.Error(), ": "+class.Error())
}

// Remote is an error that came over the bus: its message is the server's,
// and it unwraps to the subject or class its D-Bus name stands for (nil
// for unknown names), so errors.Is(err, errs.NoSuchImage) holds in clients.
type Remote struct {
	Name, Message string
	cause         error
}

func (r *Remote) Error() string { return r.Message }

// Unwrap returns the subject or errdefs class of the D-Bus name.
func (r *Remote) Unwrap() error { return r.cause }

// FromDBus maps a D-Bus error back to a *Remote that unwraps to its
// subject or class, keeping the message. The bus's own "service unknown"
// and activation failures become errdefs.ErrUnavailable. Other errors
// pass through unchanged.
func FromDBus(err error) error {
	var de dbus.Error
	if !errors.As(err, &de) {
		var dp *dbus.Error
		if !errors.As(err, &dp) {
			return err
		}
		de = *dp
	}
	r := &Remote{Name: de.Name, Message: de.Name}
	if len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok {
			r.Message = s
		}
	}
	for _, s := range subjects {
		if s.name == de.Name {
			r.cause = s.subject
			return r
		}
	}
	for _, c := range classes {
		if c.name == de.Name {
			r.cause = c.class
			return r
		}
	}
	if NotActivated(de.Name) {
		r.cause = errdefs.ErrUnavailable
	}
	return r
}

// ErrTimedOut is the bus's name for an activation that did not complete
// in time (dbus-daemon's service_start_timeout, 25 s by default).
const ErrTimedOut = "org.freedesktop.DBus.Error.TimedOut"

// ActivationFailed reports whether a D-Bus error name says that the bus
// started the service and the start failed or timed out: the call was
// never delivered, so making it again is safe. A name nobody can activate
// (ServiceUnknown) is not such a failure.
func ActivationFailed(name string) bool {
	return name == ErrTimedOut || (name != ErrServiceUnknown && NotActivated(name))
}

// NotActivated reports whether a D-Bus error name says that the bus could
// not reach or start the service (berthd did not start): the bus's own
// names, and systemd's when it activates the service.
func NotActivated(name string) bool {
	return name == ErrServiceUnknown || strings.HasPrefix(name, "org.freedesktop.DBus.Error.Spawn") ||
		strings.HasPrefix(name, "org.freedesktop.systemd1.")
}
