//go:build e2e

package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// ptyDocker is the docker CLI 28 run on the host in a pseudo-terminal,
// pointed at berth's socket (as the Go clients are).
type ptyDocker struct {
	t    *testing.T
	pty  console.Console
	cmd  *exec.Cmd
	done chan struct{} // the terminal's output ended

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // expect matches after this offset
}

func startPTYDocker(t *testing.T, rows, cols uint16, args ...string) *ptyDocker {
	t.Helper()
	pty, slave, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Resize(console.WinSize{Height: rows, Width: cols}); err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/local/bin/docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+berthHost(), "DOCKER_CONFIG="+t.TempDir(), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	p := &ptyDocker{t: t, pty: pty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := pty.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		pty.Close()
		if t.Failed() {
			t.Logf("terminal of docker %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	t.Logf("docker %s (in a %dx%d terminal)", strings.Join(args, " "), rows, cols)
	return p
}

func (p *ptyDocker) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits for re to match the terminal's output after the last match.
func (p *ptyDocker) expect(re string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		rest := p.out.Bytes()[p.seen:]
		if loc := rx.FindIndex(rest); loc != nil {
			p.seen += loc[1]
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			p.t.Fatalf("terminal: no %q within 20s in %q", re, rest)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *ptyDocker) send(s string) {
	p.t.Helper()
	if _, err := p.pty.Write([]byte(s)); err != nil {
		p.t.Fatalf("terminal: %v", err)
	}
}

// wait returns the docker CLI's exit code.
func (p *ptyDocker) wait() int {
	p.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			p.t.Fatalf("docker: %v", err)
		}
		return 0
	case <-time.After(20 * time.Second):
		p.t.Fatalf("docker did not end within 20s; terminal: %q", p.output())
	}
	return -1
}

// TestDockerCLITerminal: docker run -it answering typed commands in a
// pseudo-terminal and exiting with the shell's code, the terminal's size
// and its changes inside, detaching with ctrl-p ctrl-q, docker exec -it,
// and the size of a detached run's TTY set through the resize endpoint.
func TestDockerCLITerminal(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")

	p := startPTYDocker(t, 40, 100, "run", "-it", "--rm", "busybox", "sh")
	p.expect(`/ # `)
	p.send("stty size; echo hi-$((6*7))\r")
	p.expect(`40 100\s+hi-42`)
	if err := p.pty.Resize(console.WinSize{Height: 50, Width: 120}); err != nil {
		t.Fatal(err)
	}
	// The CLI sees SIGWINCH and sends the size; the shell reads it
	// when it runs stty.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.send("stty size\r")
		p.mu.Lock()
		ok := strings.Contains(p.out.String()[p.seen:], "50 120")
		p.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resize did not reach the container: %q", p.output())
		}
		time.Sleep(300 * time.Millisecond)
	}
	p.send("exit 3\r")
	if code := p.wait(); code != 3 {
		t.Errorf("docker run -it: exit %d, want 3", code)
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
		t.Errorf("run -it --rm left %s containers", n)
	}

	p = startPTYDocker(t, 30, 80, "run", "-it", "--name", "det", "busybox", "sh")
	p.expect(`/ # `)
	p.send("echo before-$((1+1))\r")
	p.expect(`before-2`)
	p.send("\x10\x11")
	if code := p.wait(); code != 0 {
		t.Errorf("detach: exit %d", code)
	}
	if st := docker(t, "inspect --format '{{.State.Status}}' det"); st != "running" {
		t.Errorf("after the detach: %s", st)
	}

	p = startPTYDocker(t, 24, 70, "exec", "-it", "det", "sh")
	p.expect(`/ # `)
	p.send("stty size; echo in-$((2*3))\r")
	p.expect(`24 70\s+in-6`)
	p.send("exit 4\r")
	if code := p.wait(); code != 4 {
		t.Errorf("docker exec -it: exit %d, want 4", code)
	}
	docker(t, "rm -f det")

	// docker run -d -t: the TTY is resized without an attach.
	docker(t, "run -d -t --name dt busybox sleep 1000")
	c, err := client.New(client.WithHost(berthHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ContainerResize(t.Context(), "dt", client.ContainerResizeOptions{Height: 33, Width: 91}); err != nil {
		t.Fatalf("resize: %v", err)
	}
	if sz := docker(t, "exec dt sh -c 'stty size </proc/1/fd/0'"); sz != "33 91" {
		t.Errorf("size after the resize: %q, want 33 91", sz)
	}
	docker(t, "rm -f dt")
}

// dockerCode runs the docker CLI in the sandbox and returns its output and
// exit code.
func dockerCode(t *testing.T, args string) (string, string, int) {
	t.Helper()
	out, errOut, code := sh(t, dockerEnv+"docker "+args)
	return strings.TrimSpace(out), strings.TrimSpace(errOut), code
}

// TestDockerCLIFlows: the docker CLI's verbs beyond run, ps and logs.
func TestDockerCLIFlows(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")

	t.Run("run -i with stdin piped", func(t *testing.T) {
		if out := must(t, dockerEnv+"echo data | docker run -i --rm busybox cat"); out != "data" {
			t.Errorf("echo data | docker run -i: %q", out)
		}
		if out := must(t, dockerEnv+"seq 1 20000 | docker run -i --rm busybox wc -l"); out != "20000" {
			t.Errorf("seq | docker run -i wc -l: %q", out)
		}
	})

	t.Run("logs -f ends with the container", func(t *testing.T) {
		docker(t, "run -d --name lf busybox sh -c 'echo a; sleep 1; echo b; sleep 1; echo c'")
		began := time.Now()
		out, _, code := dockerCode(t, "logs -f lf")
		if code != 0 || out != "a\nb\nc" || time.Since(began) < time.Second {
			t.Errorf("logs -f: exit %d, %q after %s", code, out, time.Since(began))
		}
		docker(t, "rm lf")
	})

	t.Run("logs since tail timestamps", func(t *testing.T) {
		docker(t, "run -d --name lt busybox sh -c 'echo one; echo two; sleep 2; echo three; sleep 1000'")
		eventually(t, 10*time.Second, dockerEnv+"docker logs lt | grep -qx two")
		mid := time.Now()
		eventually(t, 10*time.Second, dockerEnv+"docker logs lt | grep -qx three")
		if out := docker(t, "logs --tail 2 lt"); out != "two\nthree" {
			t.Errorf("logs --tail 2: %q", out)
		}
		if out := docker(t, fmt.Sprintf("logs --since %d.%09d lt", mid.Unix(), mid.Nanosecond())); out != "three" {
			t.Errorf("logs --since: %q", out)
		}
		if out := docker(t, "logs --since "+mid.UTC().Format(time.RFC3339Nano)+" lt"); out != "three" {
			t.Errorf("logs --since RFC 3339: %q", out)
		}
		out := docker(t, "logs -t lt")
		if !regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (one|two|three)\n?){3}$`).MatchString(out) {
			t.Errorf("logs -t: %q", out)
		}
		docker(t, "rm -f lt")
	})

	t.Run("restart kill stop signal wait", func(t *testing.T) {
		docker(t, "run -d --name rs busybox sleep 1000")
		before := docker(t, "inspect --format '{{.State.StartedAt}} {{.State.Pid}}' rs")
		docker(t, "restart -t 1 rs")
		after := docker(t, "inspect --format '{{.State.StartedAt}} {{.State.Pid}}' rs")
		if after == before || docker(t, "inspect --format '{{.State.Status}}' rs") != "running" {
			t.Errorf("restart: %q then %q", before, after)
		}

		trap := func(name, sig string, code int) {
			docker(t, fmt.Sprintf(`run -d --name %s busybox sh -c "trap 'echo got-%s; exit %d' %s; echo up; while :; do sleep 0.1; done"`, name, sig, code, sig))
			eventually(t, 10*time.Second, dockerEnv+"docker logs "+name+" | grep -qx up")
		}
		trap("k", "USR1", 9)
		docker(t, "kill -s USR1 k")
		if code := docker(t, "wait k"); code != "9" {
			t.Errorf("kill -s USR1 then wait: %q, want 9", code)
		}
		if !strings.Contains(docker(t, "logs k"), "got-USR1") {
			t.Errorf("kill -s USR1: the trap did not run")
		}

		trap("si", "INT", 12)
		began := time.Now()
		docker(t, "stop -s SIGINT -t 30 si")
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("stop -s SIGINT took %s: the signal was not delivered", took)
		}
		if code := docker(t, "inspect --format '{{.State.ExitCode}}' si"); code != "12" {
			t.Errorf("stop -s SIGINT: exit %s, want 12", code)
		}
		// restart --signal, and berthctl's stop -s.
		eventually(t, 10*time.Second, dockerEnv+"docker start si && docker logs si | grep -c up | grep -qx 2")
		docker(t, "restart -s INT -t 30 si")
		if n := docker(t, "logs si | grep -c got-INT"); n != "2" {
			t.Errorf("restart -s INT: %s traps ran, want 2", n)
		}
		eventually(t, 10*time.Second, dockerEnv+"docker logs si | grep -c up | grep -qx 3")
		must(t, "berthctl stop -s INT -t 30 si")
		if code := docker(t, "inspect --format '{{.State.ExitCode}}' si"); code != "12" {
			t.Errorf("berthctl stop -s INT: exit %s, want 12", code)
		}
		docker(t, "start si")
		_, errOut, code := dockerCode(t, "stop -s NOSUCHSIG si")
		if code == 0 || !strings.Contains(errOut, "NOSUCHSIG") {
			t.Errorf("stop -s NOSUCHSIG: exit %d, %q", code, errOut)
		}
		if st := docker(t, "inspect --format '{{.State.Status}}' si"); st != "running" {
			t.Errorf("a refused stop left the container %s", st)
		}

		docker(t, "run -d --name w busybox sh -c 'sleep 1; exit 7'")
		if code := docker(t, "wait w"); code != "7" {
			t.Errorf("docker wait: %q, want 7", code)
		}
		docker(t, "rm -f rs k si w")
	})

	t.Run("pause rename top rm -f", func(t *testing.T) {
		docker(t, "run -d --name p busybox sleep 1000")
		docker(t, "pause p")
		if st := docker(t, "inspect --format '{{.State.Status}} {{.State.Paused}}' p"); st != "paused true" {
			t.Errorf("after pause: %q", st)
		}
		if ps := docker(t, "ps --filter status=paused --format '{{.Names}}'"); ps != "p" {
			t.Errorf("ps --filter status=paused: %q", ps)
		}
		docker(t, "unpause p")
		if st := docker(t, "inspect --format '{{.State.Status}} {{.State.Paused}}' p"); st != "running false" {
			t.Errorf("after unpause: %q", st)
		}
		docker(t, "rename p p2")
		if n := docker(t, "inspect --format '{{.Name}}' p2"); n != "/p2" {
			t.Errorf("after rename: %q", n)
		}
		if _, errOut, code := dockerCode(t, "inspect --type container p"); code == 0 || !strings.Contains(errOut, "No such container: p") {
			t.Errorf("the old name: exit %d, %q", code, errOut)
		}
		top := docker(t, "top p2")
		if lines := strings.Split(top, "\n"); len(lines) < 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(top, "sleep 1000") {
			t.Errorf("docker top: %q", top)
		}
		if top := docker(t, "top p2 -o pid,comm"); !regexp.MustCompile(`(?m)^PID\s+COMMAND\n\d+\s+sleep$`).MatchString(top) {
			t.Errorf("docker top -o pid,comm: %q", top)
		}
		docker(t, "rm -f p2")
		if n := must(t, "berthctl ps -aq | wc -l"); n != "0" {
			t.Errorf("rm -f left %s containers", n)
		}
	})

	t.Run("ps filters and prune", func(t *testing.T) {
		sh(t, dockerEnv+"docker run --name e3 busybox sh -c 'exit 3'")
		sh(t, dockerEnv+"docker run --name e0 busybox true")
		docker(t, "run -d --name up busybox sleep 1000")
		docker(t, "create --name fresh busybox true")
		for filter, want := range map[string]string{
			"--filter status=exited --filter exited=3":   "e3",
			"--filter status=exited":                     "e0 e3",
			"--filter exited=0":                          "e0",
			"--filter status=created":                    "fresh",
			"--filter status=running":                    "up",
			"--filter ancestor=busybox --filter name=^e": "e0 e3",
			"--filter name=up":                           "up",
			"--filter ancestor=nosuch":                   "",
		} {
			got := strings.Fields(docker(t, "ps -a --format '{{.Names}}' "+filter))
			slices.Sort(got)
			if strings.Join(got, " ") != want {
				t.Errorf("ps -a %s: %v, want %q", filter, got, want)
			}
		}
		out := docker(t, "container prune -f")
		if !strings.Contains(out, "Deleted Containers:") || strings.Count(out, "\n") < 3 {
			t.Errorf("container prune: %q", out)
		}
		if left := strings.Fields(docker(t, "ps -a --format '{{.Names}}'")); strings.Join(left, " ") != "up" {
			t.Errorf("after prune: %v, want only the running one", left)
		}
		docker(t, "rm -f up")
	})

	t.Run("start -a of an exited container", func(t *testing.T) {
		docker(t, "create --name sa busybox sh -c 'echo run; echo to-err >&2; exit 5'")
		for i := range 2 {
			out, errOut, code := dockerCode(t, "start -a sa")
			if out != "run" || errOut != "to-err" || code != 5 {
				t.Errorf("start -a (%d): %q %q exit %d", i, out, errOut, code)
			}
		}
		docker(t, "rm sa")
	})
}
