package systemd

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// notify sends sd_notify(3) states; without NOTIFY_SOCKET it does nothing.
// The variable is kept so that reload can notify again; children get a
// clean environment anyway.
func notify(states ...string) {
	daemon.SdNotify(false, strings.Join(states, "\n"))
}

// Ready tells systemd that the service is up (or back from a reload),
// with a status line.
func Ready(status string) { notify(daemon.SdNotifyReady, "STATUS="+status) }

// Reloading tells systemd that a reload has begun. MONOTONIC_USEC, which
// systemd 253+ reads (and 252 ignores), ties the message to this reload.
func Reloading(status string) {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	notify(daemon.SdNotifyReloading, fmt.Sprintf("MONOTONIC_USEC=%d", ts.Nano()/1000), "STATUS="+status)
}

// Stopping tells systemd that the service is shutting down.
func Stopping() { notify(daemon.SdNotifyStopping) }

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
