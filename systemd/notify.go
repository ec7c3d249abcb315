package systemd

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// Notify sends an sd_notify(3) state; without NOTIFY_SOCKET it does nothing.
// The variable is kept so that reload can notify again; children get a
// clean environment anyway.
func Notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// Listeners returns the stream sockets passed by systemd, and unsets
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so no child sees them.
func Listeners() ([]net.Listener, error) {
	ls, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	var out []net.Listener
	for _, l := range ls {
		if l != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// BootID returns the kernel's boot id, which tells a reboot apart from a
// berthd restart.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
