package lifecycle

import (
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
	"golang.org/x/sys/unix"
)

// ParseSignal accepts what docker accepts for --stop-signal and kill -s:
// a name with or without SIG in any case ("KILL", "SIGKILL", "sigkill"),
// a real-time signal as RTMIN+N or RTMAX-N, or a number. It refuses names
// and numbers that are not signals of this platform.
func ParseSignal(s string) (unix.Signal, error) {
	sig, err := signal.ParseSignal(s)
	if err != nil || !signal.ValidSignalForPlatform(sig) {
		return 0, fmt.Errorf("signal %q: unknown signal: %w", s, errdefs.ErrInvalidArgument)
	}
	return sig, nil
}
