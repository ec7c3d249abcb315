package contract

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// TestErrorRoundTrip: every subject and every class maps to its own name
// and back to the same subject or class, with the message intact.
func TestErrorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		err  error // what the engine returns
		name string
		msg  string
		want error // errors.Is after the round trip
	}{
		{fmt.Errorf("container %q: %w", "web", errs.NoSuchContainer), ErrNoSuchContainer, `container "web": no such container`, errs.NoSuchContainer},
		{fmt.Errorf("image %q: %w", "bb", errs.NoSuchImage), ErrNoSuchImage, `image "bb": no such image`, errs.NoSuchImage},
		{fmt.Errorf("runtime %q: %w", "x", errs.NoSuchRuntime), ErrNoSuchRuntime, `runtime "x": no such runtime`, errs.NoSuchRuntime},
		{fmt.Errorf("index sha256:ab: %w (linux/amd64)", errs.NoSuchPlatform), ErrNoSuchPlatform, "index sha256:ab: no image for this platform (linux/amd64)", errs.NoSuchPlatform},
		{fmt.Errorf("volume %q: %w", "data", errs.NoSuchVolume), ErrNoSuchVolume, `volume "data": no such volume`, errs.NoSuchVolume},
		{fmt.Errorf("network %s not found: %w", "front", errs.NoSuchNetwork), ErrNoSuchNetwork, "network front not found: no such network", errs.NoSuchNetwork},
		{fmt.Errorf("container name %q: %w", "web", errs.NameInUse), ErrNameInUse, `container name "web": name already in use`, errs.NameInUse},
		{fmt.Errorf("exec /nope: %w", errs.CommandNotFound), ErrCommandNotFound, "exec /nope: executable file not found", errs.CommandNotFound},
		{fmt.Errorf("exec /etc: %w", errs.CommandNotExecutable), ErrCommandNotExecutable, "exec /etc: cannot execute", errs.CommandNotExecutable},
		{fmt.Errorf("layer x: %w", errdefs.ErrNotFound), ErrNotFound, "layer x", errdefs.ErrNotFound},
		{fmt.Errorf("tag x: %w", errdefs.ErrAlreadyExists), ErrAlreadyExists, "tag x", errdefs.ErrAlreadyExists},
		{fmt.Errorf("option x: %w", errdefs.ErrInvalidArgument), ErrInvalidArgument, "option x", errdefs.ErrInvalidArgument},
		{fmt.Errorf("container x: %w", errdefs.ErrConflict), ErrInvalidState, "container x", errdefs.ErrConflict},
		{fmt.Errorf("caller 1000: %w", errdefs.ErrPermissionDenied), ErrAccessDenied, "caller 1000", errdefs.ErrPermissionDenied},
		{fmt.Errorf("systemd: %w", errdefs.ErrUnavailable), ErrUnavailable, "systemd", errdefs.ErrUnavailable},
		{fmt.Errorf("checkpoint: %w", errdefs.ErrNotImplemented), ErrNotImplemented, "checkpoint", errdefs.ErrNotImplemented},
		{fmt.Errorf("layer: %w", errdefs.ErrFailedPrecondition), ErrPrecondition, "layer", errdefs.ErrFailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			de := ToDBus(tc.err)
			if de.Name != tc.name {
				t.Fatalf("name %q, want %q", de.Name, tc.name)
			}
			if got := de.Body[0].(string); got != tc.msg {
				t.Fatalf("message %q, want %q", got, tc.msg)
			}
			// godbus hands clients a dbus.Error value.
			back := FromDBus(fmt.Errorf("call: %w", *de))
			if !errors.Is(back, tc.want) {
				t.Fatalf("round trip lost %v: %v", tc.want, back)
			}
			if back.Error() != tc.msg {
				t.Fatalf("round trip message %q", back.Error())
			}
		})
	}
}

// TestErrorSubjectsAreDistinct: no subject answers for another, although
// several share a class.
func TestErrorSubjectsAreDistinct(t *testing.T) {
	for _, a := range subjects {
		back := FromDBus(*ToDBus(fmt.Errorf("x: %w", a.subject)))
		for _, b := range subjects {
			if b.subject != a.subject && errors.Is(back, b.subject) {
				t.Errorf("%s reads back as %s", a.name, b.name)
			}
		}
	}
}

func TestErrorEdges(t *testing.T) {
	if de := ToDBus(errors.New("boom")); de.Name != ErrInternal {
		t.Fatalf("unclassified error: %q", de.Name)
	}
	if ToDBus(nil) != nil {
		t.Fatal("nil error mapped to an error")
	}
	pass := dbus.NewError("org.example.Custom", []any{"custom"})
	if de := ToDBus(fmt.Errorf("wrapped: %w", pass)); de != pass {
		t.Fatalf("a D-Bus error did not pass through: %v", de)
	}
	for _, name := range []string{ErrServiceUnknown, "org.freedesktop.DBus.Error.Spawn.ChildExited"} {
		if err := FromDBus(dbus.Error{Name: name, Body: []any{"gone"}}); !errdefs.IsUnavailable(err) || err.Error() != "gone" {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := FromDBus(dbus.Error{Name: "org.example.Other"}); err.Error() != "org.example.Other" || errdefs.IsNotFound(err) {
		t.Fatalf("unknown name: %v", err)
	}
	plain := errors.New("not from the bus")
	if FromDBus(plain) != plain {
		t.Fatal("a non-D-Bus error changed")
	}
}

func TestActivationFailed(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{ErrTimedOut, true},
		{"org.freedesktop.DBus.Error.Spawn.ChildExited", true},
		{"org.freedesktop.systemd1.UnitFailed", true},
		{ErrServiceUnknown, false}, // nothing to activate: retrying cannot help
		{"org.freedesktop.DBus.Error.NoReply", false},
		{ErrAccessDenied, false},
		{"io.berth.Engine1.Error.NoSuchContainer", false},
	} {
		if got := ActivationFailed(tc.name); got != tc.want {
			t.Errorf("ActivationFailed(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A message that quotes a huge argument back is cut, keeping both ends.
func TestLongMessagesCut(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	de := ToDBus(fmt.Errorf("network %q: want none or host: %w", huge, errdefs.ErrInvalidArgument))
	msg := de.Body[0].(string)
	if len(msg) > MaxMessage+64 {
		t.Fatalf("message of %d bytes", len(msg))
	}
	if !strings.HasPrefix(msg, `network "aaa`) || !strings.HasSuffix(msg, `": want none or host`) || !strings.Contains(msg, "bytes cut") {
		t.Fatalf("message %q...%q", msg[:40], msg[len(msg)-40:])
	}
	if de.Name != ErrInvalidArgument {
		t.Fatalf("name %q", de.Name)
	}
}
