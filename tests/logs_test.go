//go:build e2e

package tests

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Output faster than journald's per-unit rate limit: logs still returns
// every line (it reads the local log, not the journal), and the died event
// is in the journal (berthd writes it, outside the container's scope).
func TestLogsFastOutput(t *testing.T) {
	fresh(t)
	must(t, "berthctl run --name fast --rootfs "+rootfs+" -- seq 1 150000 >/tmp/fast.attached")
	if n := must(t, "wc -l </tmp/fast.attached"); n != "150000" {
		t.Fatalf("the attached client got %s lines", n)
	}
	must(t, "berthctl logs fast >/tmp/fast.logs 2>/tmp/fast.err")
	if n := must(t, "wc -l </tmp/fast.logs"); n != "150000" {
		t.Fatalf("logs returned %s lines, want 150000", n)
	}
	must(t, "seq 1 150000 | cmp - /tmp/fast.logs")
	if e := must(t, "cat /tmp/fast.err"); e != "" {
		t.Fatalf("logs said %q for a complete log", e)
	}
	if got := must(t, "berthctl logs --tail 2 fast"); got != "149999\n150000" {
		t.Fatalf("logs --tail 2: %q", got)
	}
	ev := eventually(t, 10*time.Second, "journalctl -o json --no-pager BERTH_CONTAINER_NAME=fast BERTH_EVENT=die | grep .")
	if !strings.Contains(ev, `"EXIT_CODE":"0"`) || !strings.Contains(ev, `"BERTH_CONTAINER_NAME":"fast"`) {
		t.Fatalf("died event: %s", ev)
	}
}

// Once wait has returned, logs has every line of the run; four loops run
// side by side, so that the journal is busy as on a loaded host.
func TestLogsCompleteAfterWait(t *testing.T) {
	fresh(t)
	must(t, `loop() {
	  for i in $(seq 25); do
	    id=$(berthctl run -d --rootfs `+rootfs+` -- sh -c 'echo first; seq 2 500; echo last') || return 1
	    berthctl wait $id >/dev/null || return 1
	    out=$(berthctl logs $id | sed -n '1p;$p' | tr '\n' ,); n=$(berthctl logs $id | wc -l)
	    [ "$out,$n" = "first,last,,501" ] || { echo "try $i: logs after wait gave '$out', $n lines" >&2; return 1; }
	    berthctl rm $id >/dev/null || return 1
	  done
	}
	loop & a=$!; loop & b=$!; loop & c=$!; loop & d=$!
	wait $a && wait $b && wait $c && wait $d`)
}

// Once stop has returned, logs has every line, the ones written while
// stopping too.
func TestLogsCompleteAfterStop(t *testing.T) {
	fresh(t)
	must(t, `loop() {
	  for i in $(seq 10); do
	    id=$(berthctl run -d --rootfs `+rootfs+` -- sh -c 'trap "seq 1 500; echo last; exit 0" TERM; echo first; while :; do sleep 0.05; done') || return 1
	    n=0; until berthctl logs $id | grep -q first; do n=$((n+1)); [ $n -gt 100 ] && return 1; sleep 0.05; done
	    berthctl stop $id >/dev/null || return 1
	    out=$(berthctl logs $id | sed -n '1p;$p' | tr '\n' ,); n=$(berthctl logs $id | wc -l)
	    [ "$out,$n" = "first,last,,502" ] || { echo "try $i: logs after stop gave '$out', $n lines" >&2; return 1; }
	    berthctl rm $id >/dev/null || return 1
	  done
	}
	loop & a=$!; loop & b=$!; loop & c=$!
	wait $a && wait $b && wait $c`)
}

// journalctl CONTAINER_NAME= (docker's query for a container's output)
// returns the container's lines only; berth's events name the container
// in fields of their own.
func TestJournalHoldsOutputApartFromEvents(t *testing.T) {
	fresh(t)
	id := must(t, "berthctl run -d --name jo --rootfs "+rootfs+" -- sh -c 'echo hello; echo oops >&2'")
	must(t, "berthctl wait jo")
	must(t, "berthctl rm jo")
	eventually(t, 10*time.Second, "journalctl --no-pager BERTH_CONTAINER_NAME=jo BERTH_EVENT=remove | grep -q remove")
	// stdout and stderr are read apart, so their order may differ.
	if got := must(t, "journalctl --no-pager -o cat CONTAINER_NAME=jo | sort"); got != "hello\noops" {
		t.Fatalf("journalctl CONTAINER_NAME=jo:\n%s", got)
	}
	if got := must(t, "journalctl --no-pager -o cat CONTAINER_ID_FULL="+id+" | sort"); got != "hello\noops" {
		t.Fatalf("journalctl CONTAINER_ID_FULL=:\n%s", got)
	}
	evs := must(t, "journalctl --no-pager -o json BERTH_CONTAINER_ID="+id+" | grep -o '\"BERTH_EVENT\":\"[a-z]*\"' | tr '\\n' ' '")
	for _, e := range []string{"create", "start", "die", "remove"} {
		if !strings.Contains(evs, `"BERTH_EVENT":"`+e+`"`) {
			t.Errorf("no %s event among %s", e, evs)
		}
	}
}

// Options that berthd refuses leave no stream behind and name the option.
func TestLogsRefusesUnknownOptions(t *testing.T) {
	fresh(t)
	runDetached(t, "--name lo -- true")
	msg := fails(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainerLogs 'sa{sv}' lo 1 details b true")
	if !strings.Contains(msg, `"details"`) || !strings.Contains(msg, "unknown") {
		t.Fatalf("unknown option: %s", msg)
	}
	msg = fails(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainerLogs 'sa{sv}' lo 1 since s 10m")
	if !strings.Contains(msg, `"since"`) {
		t.Fatalf("since as a string: %s", msg)
	}
}

// docker's logs options: --tail/-n, --timestamps/-t, --since, --until.
func TestLogsOptions(t *testing.T) {
	fresh(t)
	runDetached(t, "--name opts -- sh -c 'echo a; echo b; sleep 1.5; echo c; echo d'")
	must(t, "berthctl wait opts")
	if got := must(t, "berthctl logs -n 1 opts"); got != "d" {
		t.Fatalf("-n 1: %q", got)
	}
	if got := must(t, "berthctl logs --tail 3 opts | tr '\\n' ,"); got != "b,c,d," {
		t.Fatalf("--tail 3: %q", got)
	}
	if got := must(t, "berthctl logs --tail 0 opts | wc -c"); got != "0" {
		t.Fatalf("--tail 0 printed %s bytes", got)
	}
	stamped := must(t, "berthctl logs -t opts")
	lines := strings.Split(stamped, "\n")
	if len(lines) != 4 {
		t.Fatalf("-t: %q", stamped)
	}
	var at [4]time.Time
	for i, l := range lines {
		ts, text, ok := strings.Cut(l, " ")
		var err error
		at[i], err = time.Parse(time.RFC3339Nano, ts)
		// docker's layout: UTC, all nine digits of nanoseconds.
		if !ok || err != nil || text != string(rune('a'+i)) || !strings.HasSuffix(ts, "Z") || len(ts) != len("2006-01-02T15:04:05.000000000Z") {
			t.Fatalf("-t line %q: %v", l, err)
		}
	}
	if at[2].Sub(at[1]) < time.Second {
		t.Fatalf("c came %s after b", at[2].Sub(at[1]))
	}
	// Between b and c, in unix seconds with decimals.
	mid := at[1].Add(at[2].Sub(at[1]) / 2)
	midArg := strconv.FormatFloat(float64(mid.UnixNano())/1e9, 'f', 6, 64)
	if got := must(t, "berthctl logs --since "+midArg+" opts | tr '\\n' ,"); got != "c,d," {
		t.Fatalf("--since %s: %q", midArg, got)
	}
	if got := must(t, "berthctl logs --until "+midArg+" opts | tr '\\n' ,"); got != "a,b," {
		t.Fatalf("--until %s: %q", midArg, got)
	}
	if got := must(t, "berthctl logs --since "+mid.UTC().Format(time.RFC3339Nano)+" --tail 1 -t opts"); got != lines[3] {
		t.Fatalf("--since --tail 1 -t: %q, want %q", got, lines[3])
	}
}

// A container that ran under a berth without local logs (simulated by
// removing the file) gets a notice that points at the journal; one that
// never ran gets nothing.
func TestLogsWithoutLocalLog(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name old -- echo hi")
	must(t, "berthctl wait old")
	must(t, "rm /var/lib/berth/containers/"+id+"/container.log")
	out, errOut, code := sh(t, "berthctl logs old")
	if code != 0 || out != "" || !strings.Contains(errOut, "no local log") || !strings.Contains(errOut, "journalctl CONTAINER_ID_FULL="+id) {
		t.Fatalf("logs without a local log: exit %d, %q, %q", code, out, errOut)
	}
	must(t, "berthctl create --name never --rootfs "+rootfs+" -- true")
	out, errOut, code = sh(t, "berthctl logs never")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("logs of a container never started: exit %d, %q, %q", code, out, errOut)
	}
}

// Containers that flood the journal while berthd is gone still get their
// died (and, for --rm, removed) events, once each: the monitor starts
// berthd through its socket, and berthd writes them from its own unit.
func TestEventsOfAFloodWhileBerthdIsGone(t *testing.T) {
	fresh(t)
	config(t, `idle-timeout = "1s"`)
	id := runDetached(t, "--name flood -- sh -c 'sleep 5; seq 1 100000; exit 3'")
	runDetached(t, "--rm --name floodrm -- sh -c 'sleep 5; seq 1 100000'")
	eventually(t, 4*time.Second, "! systemctl is-active -q berthd.service")
	must(t, "systemctl is-active -q berth-"+id+".scope")
	count := func(name, event string) string {
		return must(t, "journalctl -o json --no-pager BERTH_CONTAINER_NAME="+name+" BERTH_EVENT="+event+" | grep -c . || true")
	}
	eventually(t, 30*time.Second, "journalctl --no-pager BERTH_CONTAINER_NAME=flood BERTH_EVENT=die | grep -q die")
	eventually(t, 30*time.Second, "journalctl --no-pager BERTH_CONTAINER_NAME=floodrm BERTH_EVENT=remove | grep -q remove")
	ev := must(t, "journalctl -o json --no-pager BERTH_CONTAINER_NAME=flood BERTH_EVENT=die")
	if !strings.Contains(ev, `"EXIT_CODE":"3"`) || !strings.Contains(ev, `"SYSLOG_IDENTIFIER":"berthd"`) {
		t.Fatalf("died event: %s", ev)
	}
	// berthd's own reconciliation finds nothing more to report.
	must(t, "berthctl ps -a >/dev/null")
	for _, c := range []struct{ name, event string }{{"flood", "die"}, {"floodrm", "die"}, {"floodrm", "remove"}} {
		if n := count(c.name, c.event); n != "1" {
			t.Errorf("%s has %s %s events, want 1", c.name, n, c.event)
		}
	}
	if n := must(t, "berthctl logs flood | wc -l"); n != "100000" {
		t.Errorf("logs of flood: %s lines", n)
	}
}
