package monitor

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper collects every child and orphan of the monitor (it is a child
// subreaper) and hands exit statuses to whoever waits for that pid. Exits
// that nobody waits for yet are kept until someone does.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	done    map[int]unix.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan unix.WaitStatus{}, done: map[int]unix.WaitStatus{}}
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
		r.mu.Lock()
		if w, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			w <- ws
		} else {
			r.done[pid] = ws
		}
		r.mu.Unlock()
	}
}

// wait returns a channel that yields pid's exit status once.
func (r *reaper) wait(pid int) <-chan unix.WaitStatus {
	ch := make(chan unix.WaitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ws, ok := r.done[pid]; ok {
		delete(r.done, pid)
		ch <- ws
		return ch
	}
	r.waiters[pid] = ch
	return ch
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
