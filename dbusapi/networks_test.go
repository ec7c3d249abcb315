package dbusapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/containerd/errdefs"
)

// TestPredefinedRefusal: refusing to remove bridge is not AccessDenied on
// the bus (berthctl would tell the user to become root), and the message
// stays whole.
func TestPredefinedRefusal(t *testing.T) {
	err := predefinedRefusal(fmt.Errorf("network bridge is a predefined network and cannot be removed: %w", errdefs.ErrPermissionDenied))
	de := ToDBus(err)
	if de.Name != contract.ErrInvalidArgument || de.Body[0] != "network bridge is a predefined network and cannot be removed" {
		t.Fatalf("got %s %v", de.Name, de.Body)
	}
	other := errors.New("x")
	if predefinedRefusal(other) != other || predefinedRefusal(nil) != nil {
		t.Fatal("other errors changed")
	}
}
