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
	var early []byte // input read before the terminal went raw
	eof := false     // standard input ended before the terminal went raw
	if tty && term.IsTerminal(int(os.Stdin.Fd())) {
		if stdin {
			early, eof = readCooked(int(os.Stdin.Fd()))
		}
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
			if len(early) > 0 && w.Write(stream.Stdin, early) != nil {
				return
			}
			if eof {
				w.Write(stream.CloseStdin, nil)
				return
			}
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

// readCooked takes what a terminal in canonical mode holds now: whole lines,
// and whether an end of file (^D) is among them. An EOF left there would
// read as a NUL byte once the terminal is raw (the line discipline marks it
// with one), and reach the container as input; taken now, it injects
// nothing.
func readCooked(fd int) (data []byte, eof bool) {
	buf := make([]byte, 4096)
	for len(data) < 1<<20 {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 0); err != nil || n == 0 || fds[0].Revents&unix.POLLIN == 0 {
			return data, false
		}
		n, err := unix.Read(fd, buf)
		if err != nil {
			return data, false
		}
		if n == 0 {
			return data, true
		}
		data = append(data, buf[:n]...)
	}
	return data, false
}
