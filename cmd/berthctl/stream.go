package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/berthd/berth/stream"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// pump copies a container stream to the terminal until it ends. With stdin,
// standard input goes to the container; with tty, the terminal is raw and
// its size follows; without tty, signals are forwarded to the container.
// It returns the exit code from the stream, or -1 if the stream ended
// without one.
func pump(f *os.File, stdin, tty bool) (int, error) {
	defer f.Close()
	w := stream.NewWriter(f)
	if tty && term.IsTerminal(int(os.Stdin.Fd())) {
		if old, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), old)
		}
		resize := func() {
			if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
				w.Write(stream.Resize, stream.ResizePayload(ws.Row, ws.Col))
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				resize()
			}
		}()
	}
	if !tty {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				w.WriteInt(stream.Signal, int32(s.(unix.Signal)))
			}
		}()
	}
	if stdin {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := os.Stdin.Read(buf)
				if n > 0 {
					if w.Write(stream.Stdin, buf[:n]) != nil {
						return
					}
				}
				if err != nil {
					w.Write(stream.CloseStdin, nil)
					return
				}
			}
		}()
	}
	for {
		k, p, err := stream.Read(f)
		if errors.Is(err, io.EOF) {
			return -1, nil
		}
		if err != nil {
			return -1, err
		}
		switch k {
		case stream.Stdout:
			os.Stdout.Write(p)
		case stream.Stderr:
			os.Stderr.Write(p)
		case stream.Exit:
			code, err := stream.Int(p)
			return int(code), err
		case stream.Error:
			return -1, fmt.Errorf("%s", p)
		case stream.Notice:
			fmt.Fprintf(os.Stderr, "%s\n", p)
		}
	}
}
