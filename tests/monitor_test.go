//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// A scope stop is a stop like any other: the payload gets the container's
// stop signal from the monitor, never systemd's SIGTERM, also when paused.
func TestScopeStopSendsTheStopSignal(t *testing.T) {
	fresh(t)
	payload := `--name usr1 --stop-signal USR1 -- sh -c 'trap "exit 7" USR1; trap "exit 9" TERM; while :; do sleep 0.1; done'`
	id := runDetached(t, payload)
	unit := "berth-" + id + ".scope"
	time.Sleep(300 * time.Millisecond)
	must(t, "systemctl stop "+unit)
	if code := inspectField(t, "usr1", "ExitCode"); code != "7" {
		t.Fatalf("systemctl stop: exit code %s, want 7 (the stop signal USR1)", code)
	}
	// berthctl stop gives the same.
	must(t, "berthctl start usr1 && sleep 0.3 && berthctl stop usr1")
	if code := inspectField(t, "usr1", "ExitCode"); code != "7" {
		t.Fatalf("berthctl stop: exit code %s, want 7", code)
	}
	// A paused container is thawed by the stop and gets the stop signal.
	must(t, "berthctl start usr1 && sleep 0.3 && berthctl pause usr1")
	if st := inspectField(t, "usr1", "State"); st != "paused" {
		t.Fatalf("state %q, want paused", st)
	}
	must(t, "systemctl stop "+unit)
	if st, code := inspectField(t, "usr1", "State"), inspectField(t, "usr1", "ExitCode"); st != "exited" || code != "7" {
		t.Fatalf("paused, then systemctl stop: %s (%s), want exited (7)", st, code)
	}
	must(t, "! systemctl is-active "+unit)
	// The scope asks nothing of the payload itself.
	if ks := must(t, "berthctl start usr1 >/dev/null && systemctl show -p KillSignal --value "+unit); ks != "18" {
		t.Fatalf("KillSignal=%s, want 18 (SIGCONT)", ks)
	}
	must(t, "berthctl rm -f usr1")
}

// No runtime output, however large, blocks a start or an exec; the message
// comes back cut to a readable length. The runtime is a wrapper that, while
// /opt/berth-test/loud-on exists, fails run, create and exec with a
// 70000-byte error in its log and on stderr (berthd refuses a working directory that long at create,
// so the error cannot come from runc itself).
func TestHugeRuntimeErrorFailsFast(t *testing.T) {
	fresh(t)
	must(t, `mkdir -p /opt/berth-test && cat > /opt/berth-test/loud <<'EOF'
#!/bin/sh
if [ -e /opt/berth-test/loud-on ]; then
	log=/dev/stderr
	prev=
	for a in "$@"; do
		[ "$prev" = --log ] && log=$a
		prev=$a
		case $a in run|create|exec)
			# runc's error, as runc logs it (JSON), and on stderr.
			msg="$(head -c 70000 /dev/zero | tr '\0' a): file name too long"
			printf '{"level":"error","msg":"%s","time":"2026-01-01T00:00:00Z"}\n' "$msg" >>"$log"
			echo "$msg" >&2
			exit 1
		esac
	done
fi
exec runc "$@"
EOF
chmod 755 /opt/berth-test/loud && touch /opt/berth-test/loud-on`)
	config(t, "[runtimes.loud]\npath = \"/opt/berth-test/loud\"\n")
	start := time.Now()
	_, errOut, code := sh(t, "berthctl run -d --runtime loud --name huge --rootfs "+rootfs+" true")
	if code == 0 {
		t.Fatal("a start whose runtime failed succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the start took %s", d)
	}
	if len(errOut) > 2000 {
		t.Fatalf("error of %d bytes, want it cut", len(errOut))
	}
	if !strings.Contains(errOut, "file name too long") || !strings.Contains(errOut, "bytes cut") {
		t.Fatalf("error %q: want the runtime's cause and a cut marker", errOut)
	}
	// The same through exec of a running container.
	must(t, "rm /opt/berth-test/loud-on")
	runDetached(t, "--runtime loud --name host -- sleep 1000")
	must(t, "touch /opt/berth-test/loud-on")
	_, errOut, code = sh(t, "berthctl exec host true")
	if code == 0 || len(errOut) > 2000 || !strings.Contains(errOut, "bytes cut") {
		t.Fatalf("exec: exit %d, %d bytes of error: %.300q", code, len(errOut), errOut)
	}
	must(t, "rm /opt/berth-test/loud-on; berthctl rm -f host")
}

// The pty has the client's size before the process's first instruction,
// for exec -it and run -it, every time.
func TestTTYSizeBeforeStart(t *testing.T) {
	fresh(t)
	runDetached(t, "--name sized -- sleep 1000")
	// script gives berthctl a terminal; its stdin stays open (a fifo that
	// sleep holds) so that nothing ends the session early.
	loop := func(cmd string) string {
		return "rm -f /tmp/tty.in; mkfifo /tmp/tty.in; sleep 60 >/tmp/tty.in 2>/dev/null & sp=$!; " +
			"script -qec \"stty rows 30 cols 100; for i in \\$(seq 20); do " + cmd + "; done; kill $sp\" /dev/null </tmp/tty.in | tr -d '\\r'"
	}
	for _, tc := range []struct{ name, cmd string }{
		{"exec", "berthctl exec -it sized stty size"},
		{"run", "berthctl run --rm -it --rootfs " + rootfs + " -- stty size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := must(t, loop(tc.cmd))
			lines := strings.Split(out, "\n")
			good := 0
			for _, l := range lines {
				if strings.TrimSpace(l) == "30 100" {
					good++
				}
			}
			if good != 20 {
				t.Fatalf("%d of 20 runs saw 30 100:\n%s", good, out)
			}
		})
	}
	must(t, "berthctl rm -f sized")
}

// When the client's standard input ends, a TTY session gets nothing from
// it: no stray byte reaches the terminal.
func TestTTYStdinEOFInjectsNothing(t *testing.T) {
	fresh(t)
	runDetached(t, "--name eof -- sleep 1000")
	out := must(t, `script -qec "berthctl exec -it eof sh -c 'sleep 1; echo ok'" /dev/null </dev/null | od -An -c | tr -s ' '`)
	if strings.Contains(out, `\0`) || strings.Contains(out, "^ @") || strings.Contains(out, "^@") {
		t.Fatalf("a NUL reached the terminal: %s", out)
	}
	if !strings.Contains(out, "o k") {
		t.Fatalf("no ok in %s", out)
	}
	must(t, "berthctl rm -f eof")
}

// A TTY start or exec the runtime refuses fails at once with the
// command's exit code and leaves no console behind.
func TestTTYCommandNotFound(t *testing.T) {
	fresh(t)
	runDetached(t, "--name ttybox -- sleep 1000")
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"script -qec 'berthctl run --rm -it --rootfs " + rootfs + " /nonexistent' /dev/null </dev/null; exit $?", 127},
		{"script -qec 'berthctl exec -it ttybox /etc' /dev/null </dev/null; exit $?", 126},
	} {
		start := time.Now()
		_, _, code := sh(t, tc.cmd)
		if code != tc.code || time.Since(start) > 10*time.Second {
			t.Fatalf("%s: exit %d after %s, want %d at once", tc.cmd, code, time.Since(start), tc.code)
		}
	}
	if n := must(t, "ls /run/berth/containers/*/ | grep -c console || true"); n != "0" {
		t.Fatalf("%s console sockets left", n)
	}
	if out := must(t, "berthctl ps -a --format '{{.Names}}'"); out != "ttybox" {
		t.Fatalf("left behind: %q", out)
	}
	must(t, "berthctl rm -f ttybox")
}

// A stop given up by its caller with a long timeout does not pin the
// container: a later stop -t 0 (or rm -f) kills at once, as with docker,
// where each stop SIGKILLs after its own timeout.
func TestLaterShorterStopWins(t *testing.T) {
	fresh(t)
	runDetached(t, `--name pinned -- sh -c 'trap "" TERM; echo up; while :; do sleep 1; done'`)
	eventually(t, 5*time.Second, "berthctl logs pinned | grep -q up")
	sh(t, "timeout 2 berthctl stop -t 3600 pinned")
	// Before, this stop failed ("did not stop within 15s") and the
	// container stayed up.
	must(t, "berthctl stop -t 0 pinned")
	if st := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.ExitCode}}' pinned"); st != "exited 137" {
		t.Fatalf("state %q, want exited 137", st)
	}
	runDetached(t, `--name pinned2 -- sh -c 'trap "" TERM; while :; do sleep 1; done'`)
	sh(t, "timeout 2 berthctl stop -t 3600 pinned2")
	must(t, "berthctl rm -f pinned2")
	if n := must(t, "berthctl ps -a -q --filter name=pinned2 | wc -l"); n != "0" {
		t.Fatalf("pinned2 still there after rm -f")
	}
}

// A runtime (or a wrapper) that fails before it writes its log has its
// stderr reported as the reason.
func TestRuntimeStderrReported(t *testing.T) {
	fresh(t)
	must(t, `mkdir -p /opt/berth-test && printf '#!/bin/sh\necho "small: cannot do the thing" >&2\nexit 1\n' >/opt/berth-test/small && chmod 755 /opt/berth-test/small`)
	config(t, "[runtimes.small]\npath = \"/opt/berth-test/small\"\n")
	errOut := fails(t, "berthctl run -d --runtime small --name small --rootfs "+rootfs+" true")
	if !strings.Contains(errOut, "small: cannot do the thing") {
		t.Fatalf("error %q: want the runtime's stderr", errOut)
	}
	if n := must(t, "berthctl ps -a -q | wc -l"); n != "0" {
		t.Fatalf("%s containers left after a failed run -d", n)
	}
}
