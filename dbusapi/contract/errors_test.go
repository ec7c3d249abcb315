package contract

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

func TestErrorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		class error
		name  string
	}{
		{errdefs.ErrNotFound, ErrNoSuchContainer},
		{errdefs.ErrAlreadyExists, ErrContainerExists},
		{errdefs.ErrInvalidArgument, ErrInvalidArgument},
		{errdefs.ErrConflict, ErrInvalidState},
		{errdefs.ErrPermissionDenied, ErrAccessDenied},
		{errdefs.ErrUnavailable, ErrUnavailable},
		{errdefs.ErrNotImplemented, ErrNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fmt.Errorf("container %q: %w", "web", tc.class)
			de := ToDBus(in)
			if de.Name != tc.name {
				t.Fatalf("name %q, want %q", de.Name, tc.name)
			}
			if got := de.Body[0].(string); got != `container "web"` {
				t.Fatalf("message %q", got)
			}
			back := FromDBus(*de)
			if !errors.Is(back, tc.class) {
				t.Fatalf("round trip lost the class: %v", back)
			}
		})
	}
	if de := ToDBus(errors.New("boom")); de.Name != ErrInternal {
		t.Fatalf("unclassified error: %q", de.Name)
	}
	if ToDBus(nil) != nil {
		t.Fatal("nil error mapped to an error")
	}
	if err := FromDBus(dbus.Error{Name: ErrServiceUnknown, Body: []any{"gone"}}); !errdefs.IsUnavailable(err) {
		t.Fatalf("service unknown: %v", err)
	}
}
