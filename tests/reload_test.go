//go:build e2e

package tests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// recRuntime installs /opt/berth-test/rec: a runtime that records its argv
// (NUL-separated, one file per call in /opt/berth-test/argv/), drops the
// arguments up to and including "--end-of-test-args" and execs runc.
func recRuntime(t *testing.T) {
	t.Helper()
	must(t, `mkdir -p /opt/berth-test/argv && rm -f /opt/berth-test/argv/* && cat > /opt/berth-test/rec <<'EOF'
#!/bin/sh
printf '%s\0' "$@" > /opt/berth-test/argv/$$
while [ $# -gt 0 ]; do
	a=$1; shift
	[ "$a" = --end-of-test-args ] && break
done
exec runc "$@"
EOF
chmod 755 /opt/berth-test/rec`)
}

func digest(t *testing.T) string {
	t.Helper()
	return must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager ConfigDigest | cut -d'\"' -f2")
}

var wrapperRE = regexp.MustCompile(`^/run/berth/runtimes/rec-([0-9a-f]{64})$`)

// runtimePath is the runtime path recorded for a container's run.
func runtimePath(t *testing.T, ref string) string {
	t.Helper()
	return must(t, "berthctl inspect "+ref+" | sed -n 's/.*\"RuntimePath\": \"\\(.*\\)\".*/\\1/p'")
}

// The seed scenario: a container started with a runtime that has args
// outlives that runtime's removal from the config; its wrapper stays until
// the container is gone and berthd starts again.
func TestReloadKeepsRunningContainersRuntime(t *testing.T) {
	fresh(t)
	recRuntime(t)
	config(t, "[runtimes.rec]\npath = \"/opt/berth-test/rec\"\nargs = [\"--end-of-test-args\"]\n")
	id := runDetached(t, "--runtime rec --name seed -- sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done'")
	wrapper := runtimePath(t, id)
	m := wrapperRE.FindStringSubmatch(wrapper)
	if m == nil {
		t.Fatalf("recorded runtime path %q is not a wrapper under /run/berth/runtimes", wrapper)
	}
	if sum := must(t, "sha256sum "+wrapper+" | cut -d' ' -f1"); sum != m[1] {
		t.Fatalf("wrapper name digest %s, contents hash to %s", m[1], sum)
	}
	old := digest(t)

	// Drop the runtime and reload.
	config(t, "idle-timeout = \"60s\"\n")
	newDigest := must(t, "berthctl reload")
	if newDigest == old || digest(t) != newDigest {
		t.Fatalf("digest after reload: printed %s, property %s, before %s", newDigest, digest(t), old)
	}
	if rts := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager Runtimes"); strings.Contains(rts, "rec") {
		t.Fatalf("Runtimes after dropping rec: %s", rts)
	}
	if msg := fails(t, "berthctl run --rm --runtime rec --rootfs "+rootfs+" true"); !strings.Contains(msg, `runtime "rec" is not in the configuration`) {
		t.Fatalf("run with a dropped runtime: %q", msg)
	}
	if got := must(t, "berthctl ps -a -q | wc -l"); got != "1" {
		t.Fatalf("the failed run left containers behind: %s rows", got)
	}

	// A restart of berthd keeps the wrapper: the container still uses it.
	must(t, "systemctl stop berthd.service && berthctl ps >/dev/null")
	must(t, "test -x "+wrapper)

	// Every runtime call of the run still works through the old wrapper.
	calls := must(t, "ls /opt/berth-test/argv | wc -l")
	must(t, "berthctl pause seed && berthctl unpause seed")
	if got := must(t, "berthctl exec seed echo still-here"); got != "still-here" {
		t.Fatalf("exec: %q", got)
	}
	if after := must(t, "ls /opt/berth-test/argv | wc -l"); atoi(t, after) <= atoi(t, calls) {
		t.Fatalf("pause/unpause/exec did not go through the recorded runtime (%s calls before, %s after)", calls, after)
	}
	must(t, "berthctl stop -t 5 seed")
	if code := inspectField(t, "seed", "ExitCode"); code != "0" {
		t.Fatalf("exit code after stop: %s", code)
	}
	must(t, "test -x "+wrapper)
	must(t, "berthctl rm seed")

	// Nothing references it any more: the next berthd removes it.
	must(t, "systemctl stop berthd.service && berthctl ps >/dev/null")
	must(t, "! test -e "+wrapper)
}

// Arguments with spaces, quotes, $, backslashes and newlines reach the
// runtime verbatim, and the wrapper's name is the digest of its contents.
func TestWrapperPassesArgumentsVerbatim(t *testing.T) {
	fresh(t)
	recRuntime(t)
	args := []string{"with space", "it's", `"double"`, "$HOME", "$(touch /tmp/pwned)", "`id`", `back\slash`, "new\nline", "", "--end-of-test-args"}
	var quoted []string
	for _, a := range args {
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(a)
		quoted = append(quoted, `"`+q+`"`)
	}
	config(t, "default-runtime = \"rec\"\n[runtimes.rec]\npath = \"/opt/berth-test/rec\"\nargs = ["+strings.Join(quoted, ", ")+"]\n")
	must(t, "berthctl reload")
	if out := must(t, "berthctl run --rm --rootfs "+rootfs+" echo ok"); out != "ok" {
		t.Fatalf("run through the wrapper: %q", out)
	}
	recs := must(t, `for f in /opt/berth-test/argv/*; do cat "$f"; echo; done`)
	want := strings.Join(args, "\x00") + "\x00"
	if !strings.Contains(recs, want) {
		t.Fatalf("runtime argv records:\n%q\nwant each to start with\n%q", recs, want)
	}
	must(t, "! test -e /tmp/pwned")
	for _, w := range strings.Fields(must(t, "ls /run/berth/runtimes/rec-*")) {
		m := wrapperRE.FindStringSubmatch(w)
		if m == nil {
			t.Fatalf("wrapper name %q", w)
		}
		if sum := must(t, "sha256sum "+w+" | cut -d' ' -f1"); sum != m[1] {
			t.Fatalf("%s: contents hash to %s", w, sum)
		}
	}
}

// A reload that fails leaves the old snapshot in force and berthd serving.
func TestReloadFailuresChangeNothing(t *testing.T) {
	fresh(t)
	config(t, "log-level = \"info\"\n")
	must(t, "berthctl reload")
	before := digest(t)
	for _, tc := range []struct{ name, toml, want string }{
		{"invalid toml", "log-level = \"info\"\nidle-timeout = \n", "/etc/berth/berth.toml:2:"},
		{"unknown key", "\n\nbogus-key = 1\n", `/etc/berth/berth.toml:3: unknown key "bogus-key"`},
		{"missing runtime binary", "[runtimes.gone]\npath = \"/opt/nonexistent/runc\"\n", `/etc/berth/berth.toml:2: runtimes.gone: path "/opt/nonexistent/runc": not an executable`},
		{"non-reloadable key", "data-root = \"/var/lib/berth-elsewhere\"\n", `/etc/berth/berth.toml:1: data-root changed from "/var/lib/berth" to "/var/lib/berth-elsewhere"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config(t, tc.toml)
			msg := fails(t, "berthctl reload")
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "unchanged") {
				t.Fatalf("reload error %q, want it to contain %q", msg, tc.want)
			}
			if d := digest(t); d != before {
				t.Fatalf("digest changed by a failed reload: %s -> %s", before, d)
			}
			must(t, "systemctl is-active berthd.service")
			// systemctl reload runs ExecReload (berthctl reload) and
			// reports its failure.
			fails(t, "systemctl reload berthd.service")
			must(t, "systemctl is-active berthd.service")
		})
	}
	if msg := fails(t, "berthctl reload"); !strings.Contains(msg, "restart") {
		t.Fatalf("non-reloadable key error does not say a restart is needed: %q", msg)
	}

	// SIGHUP with a bad file: logged, nothing changes.
	config(t, "bogus = 1\n")
	must(t, "systemctl kill --kill-whom=main -s HUP berthd.service")
	eventually(t, 10*time.Second, `journalctl -u berthd --no-pager -o verbose | grep -q 'berth.toml:1: unknown key .bogus.'`)
	if d := digest(t); d != before {
		t.Fatalf("digest changed by a failed SIGHUP reload")
	}
	must(t, "systemctl is-active berthd.service")

	// And a good one through SIGHUP and systemctl reload.
	config(t, "idle-timeout = \"90s\"\n")
	must(t, "systemctl kill --kill-whom=main -s HUP berthd.service")
	eventually(t, 10*time.Second, fmt.Sprintf(`[ "$(busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager ConfigDigest)" != 's "%s"' ]`, before))
	afterHUP := digest(t)
	config(t, "idle-timeout = \"80s\"\n")
	must(t, "systemctl reload berthd.service")
	final := digest(t)
	if final == afterHUP {
		t.Fatal("systemctl reload did not change the digest")
	}
	// The journal has the reload event with both digests.
	must(t, fmt.Sprintf(`journalctl MESSAGE_ID=352bc72e710d487b95dce3f5d8132b33 BERTH_CONFIG_DIGEST=%s BERTH_OLD_DIGEST=%s --no-pager | grep -q reloaded`, final, afterHUP))
}

// berthctl reload activates an idle berthd; a runtime added by a reload is
// usable by the very next command; properties change with signals.
func TestReloadActivatesAndAppliesAtOnce(t *testing.T) {
	fresh(t)
	must(t, "systemctl stop berthd.service")
	config(t, "")
	must(t, "berthctl reload")
	must(t, "systemctl is-active berthd.service")
	must(t, "(timeout 10 busctl monitor --match \"type='signal',interface='org.freedesktop.DBus.Properties',path='/io/berth/Engine1'\" > /tmp/mgr-mon.out 2>&1 &); sleep 1")
	config(t, "default-runtime = \"fresh\"\n[runtimes.fresh]\npath = \"runc\"\nargs = [\"--log-format\", \"json\"]\n")
	if out := must(t, "berthctl reload >/dev/null && berthctl run --rm --runtime fresh --rootfs "+rootfs+" echo new-runtime"); out != "new-runtime" {
		t.Fatalf("run right after reload: %q", out)
	}
	if got := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager DefaultRuntime"); got != `s "fresh"` {
		t.Fatalf("DefaultRuntime %s", got)
	}
	if st := must(t, "berthctl status"); !strings.Contains(st, "fresh") || !strings.Contains(st, digest(t)) {
		t.Fatalf("status does not show the runtimes and digest:\n%s", st)
	}
	must(t, "sleep 1")
	if mon := must(t, "cat /tmp/mgr-mon.out"); !strings.Contains(mon, "ConfigDigest") || !strings.Contains(mon, "DefaultRuntime") {
		t.Fatalf("no PropertiesChanged for the manager:\n%s", mon)
	}
	// A reload that removes a key returns it to its default.
	config(t, "")
	must(t, "berthctl reload")
	if got := must(t, "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager DefaultRuntime"); got != `s "runc"` {
		t.Fatalf("DefaultRuntime after removing it: %s", got)
	}
	// cgroup-parent and default-network apply to containers started
	// after the reload; idle-timeout applies at once.
	config(t, "cgroup-parent = \"berth-reloaded.slice\"\ndefault-network = \"host\"\nidle-timeout = \"2s\"\n")
	must(t, "berthctl reload")
	id := runDetached(t, "--name afterreload -- sleep 1000")
	if slice := must(t, "systemctl show -P Slice berth-"+id+".scope"); slice != "berth-reloaded.slice" {
		t.Fatalf("scope in %s after reloading cgroup-parent", slice)
	}
	if hn, host := must(t, "berthctl exec afterreload hostname"), must(t, "hostname"); hn != host {
		t.Fatalf("default-network host not applied: container hostname %q, host %q", hn, host)
	}
	eventually(t, 10*time.Second, "! systemctl is-active -q berthd.service")
	must(t, "systemctl is-active -q berth-"+id+".scope")
}

// berthd refuses to start with other roots while containers exist under
// the recorded ones, and says why.
func TestChangedRootsRefusedWhileContainersExist(t *testing.T) {
	fresh(t)
	t.Cleanup(func() { sh(t, "rm -rf /var/lib/berth-other /etc/berth") })
	must(t, "berthctl create --name keep --rootfs "+rootfs+" true")
	must(t, "systemctl stop berthd.service")
	config(t, "data-root = \"/var/lib/berth-other\"\n")
	// berthd answers the call that activated it with the reason, at once.
	msg := fails(t, "timeout 10 berthctl ps")
	if !strings.Contains(msg, `berthd cannot start: defaults: data-root is "/var/lib/berth-other" but 1 container(s) exist`) &&
		!strings.Contains(msg, `berthd cannot start: /etc/berth/berth.toml:1: data-root is "/var/lib/berth-other" but 1 container(s) exist`) {
		t.Fatalf("berthctl did not say why berthd refused: %q", msg)
	}
	eventually(t, 10*time.Second, "systemctl is-failed -q berthd.service")
	out := must(t, "journalctl -u berthd --no-pager -o cat -n 20")
	if !strings.Contains(out, `data-root is "/var/lib/berth-other" but 1 container(s) exist`) {
		t.Fatalf("berthd did not say why it refused:\n%s", out)
	}
	// Back to the old roots: the container is still there.
	must(t, "rm /etc/berth/berth.toml && systemctl reset-failed berthd.service")
	if got := must(t, "berthctl ps -a --format json | grep -c '\"Name\": \"keep\"'"); got != "1" {
		t.Fatalf("container lost: %s", got)
	}
	// With no containers left, the roots may change.
	must(t, "berthctl rm keep && systemctl stop berthd.service")
	config(t, "data-root = \"/var/lib/berth-other\"\n")
	must(t, "berthctl ps && test -d /var/lib/berth-other/containers")
	must(t, "grep -q berth-other /var/lib/berth/roots.json")
	must(t, "systemctl stop berthd.service && rm /etc/berth/berth.toml")
}

// 50 containers created, started and stopped concurrently while 200
// reloads alternate between two configurations that give the runtime they
// use different wrappers: no operation fails, every container is
// manageable afterwards.
func TestReloadRace(t *testing.T) {
	fresh(t)
	recRuntime(t)
	must(t, `mkdir -p /opt/berth-test/cfg /etc/berth
printf '[runtimes.alt]\npath = "/opt/berth-test/rec"\nargs = ["--end-of-test-args"]\n' > /opt/berth-test/cfg/a.toml
printf 'idle-timeout = "5m"\n[runtimes.alt]\npath = "/opt/berth-test/rec"\nargs = ["a", "--end-of-test-args"]\n' > /opt/berth-test/cfg/b.toml
cp /opt/berth-test/cfg/a.toml /etc/berth/berth.toml && berthctl reload >/dev/null`)
	out, errOut, code := sh(t, `
fail=0
for i in $(seq 50); do
	( berthctl run -d --runtime alt --name race$i --rootfs /srv/rootfs -- sh -c 'trap "exit 3" TERM; echo ready; while :; do sleep 1; done' >/dev/null &&
	  timeout 60 sh -c "until journalctl CONTAINER_NAME=race$i -o cat | grep -q ready; do sleep 0.2; done" &&
	  berthctl stop -t 10 race$i >/dev/null || echo "container $i failed" ) &
done
for j in $(seq 200); do
	if [ $((j % 2)) = 0 ]; then c=a; else c=b; fi
	cp /opt/berth-test/cfg/$c.toml /etc/berth/.next && mv /etc/berth/.next /etc/berth/berth.toml
	berthctl reload >/dev/null || echo "reload $j failed"
done
wait
echo done`)
	if code != 0 || strings.TrimSpace(out) != "done" {
		t.Fatalf("failures under concurrent reloads (exit %d):\n%s\n%s", code, out, errOut)
	}
	if n := must(t, "ls /run/berth/runtimes | wc -l"); atoi(t, n) < 2 {
		t.Fatalf("want wrappers of both configurations, found %s", n)
	}
	states := must(t, `berthctl ps -a --format json | grep -o '"Status": "[^"]*"' | sort | uniq -c`)
	if n := must(t, `berthctl ps -a --format json | grep -c '"Status": "Exited (3)'`); n != "50" {
		sh(t, `for c in $(berthctl ps -a -q); do berthctl inspect $c | grep -q '"ExitCode": 3' || { berthctl inspect $c; journalctl -o verbose CONTAINER_ID=$c | grep -E 'MESSAGE|EXIT'; }; done`)
		t.Fatalf("want 50 containers exited with 3 (their TERM trap):\n%s", states)
	}
	must(t, "for i in $(seq 50); do berthctl start race$i && berthctl kill race$i && berthctl wait race$i >/dev/null && berthctl rm race$i || exit 1; done")
	if n := must(t, "berthctl ps -a -q | wc -l"); n != "0" {
		t.Fatalf("%s containers left", n)
	}
}

// A berthd that cannot start says why to the call that activated it, at
// once, instead of leaving it to dbus-daemon's 25 s activation timeout.
func TestInvalidConfigAtActivation(t *testing.T) {
	fresh(t)
	t.Cleanup(func() { sh(t, "rm -rf /etc/berth; systemctl reset-failed berthd.service") })
	must(t, "systemctl stop berthd.service")
	config(t, "\nbogus = 1\n")
	_, errOut, code := sh(t, "timeout 10 berthctl ps")
	if code == 0 || code == 124 || !strings.Contains(errOut, `berthd cannot start: /etc/berth/berth.toml:2: unknown key "bogus"`) {
		t.Fatalf("berthctl ps with a bad config: exit %d, %q", code, errOut)
	}
	eventually(t, 10*time.Second, "systemctl is-failed -q berthd.service")
	// The same on the Engine API's socket: the connection that activated
	// berthd gets docker's error body at once, and is not left queued
	// (systemd would start berthd for it again and again).
	out := must(t, "timeout 10 curl -s -w ' %{http_code}' --unix-socket /run/berth/berth.sock http://d/_ping")
	if !strings.Contains(out, `{"message":"berthd cannot start: /etc/berth/berth.toml:2: unknown key \"bogus\""}`) || !strings.HasSuffix(out, " 503") {
		t.Fatalf("Engine API call with a bad config: %q", out)
	}
	starts := "journalctl -u berthd.service --no-pager -o cat | grep -c '^Starting berthd' || true"
	eventually(t, 10*time.Second, "systemctl is-failed -q berthd.service")
	before := must(t, starts)
	time.Sleep(3 * time.Second)
	if after := must(t, starts); after != before {
		t.Fatalf("berthd was started %s times, then %s: a queued connection keeps activating it", before, after)
	}
	must(t, "rm /etc/berth/berth.toml && systemctl reset-failed berthd.service && berthctl ps >/dev/null")
}
