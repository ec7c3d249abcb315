package stream

import (
	"context"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Serve makes a socket pair for a stream that berthd writes and a client
// only reads, runs serve on berthd's end in a goroutine and returns the
// client's end (to hand over, e.g. as a D-Bus file descriptor). serve's
// context ends when the client goes away (a read on our end returns: the
// client never writes); our end is closed when serve returns. Our end is
// non-blocking, so the runtime poller serves it: its Close interrupts a
// pending Write. name names the files (for debugging).
func Serve(ctx context.Context, name string, serve func(ctx context.Context, w *os.File)) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	ours := os.NewFile(uintptr(fds[0]), name)
	theirs := os.NewFile(uintptr(fds[1]), name+"-client")
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		io.Copy(io.Discard, ours)
		cancel()
	}()
	go func() {
		defer ours.Close()
		defer cancel()
		serve(sctx, ours)
	}()
	return theirs, nil
}
