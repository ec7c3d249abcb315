package monitor

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// reaper collects every child and orphan of the monitor (it is a child
// subreaper) and hands exit statuses to whoever waits for that pid. Exits
// that nobody waits for yet are kept until someone does. It is go-runc's
// ProcessMonitor, so runtime calls never race it for their exit status.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan runc.Exit
	done    map[int]runc.Exit
}

// newReaper starts the one reaper of a process: a second would take exits
// the first is waiting for.
func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan runc.Exit{}, done: map[int]runc.Exit{}}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		e := runc.Exit{Timestamp: time.Now(), Pid: pid, Status: exitCode(ws)}
		r.mu.Lock()
		if w, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			w <- e
		} else {
			r.done[pid] = e
		}
		r.mu.Unlock()
	}
}

// wait returns a channel that yields pid's exit once.
func (r *reaper) wait(pid int) chan runc.Exit {
	ch := make(chan runc.Exit, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.done[pid]; ok {
		delete(r.done, pid)
		ch <- e
		return ch
	}
	r.waiters[pid] = ch
	return ch
}

// Start starts c; its exit comes on the returned channel.
func (r *reaper) Start(c *exec.Cmd) (chan runc.Exit, error) {
	if err := c.Start(); err != nil {
		return nil, err
	}
	return r.wait(c.Process.Pid), nil
}

// StartLocked is Start: the monitor sets no parent-death signal.
func (r *reaper) StartLocked(c *exec.Cmd) (chan runc.Exit, error) { return r.Start(c) }

// Wait returns c's exit status once the reaper has it, after c's output
// copying (if any) has finished.
func (r *reaper) Wait(c *exec.Cmd, ec chan runc.Exit) (int, error) {
	e := <-ec
	c.Wait() // reaped already: this only flushes c's I/O goroutines
	return e.Status, nil
}

// exitCode turns a wait status into a shell-style exit code.
func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	default:
		return 255
	}
}
