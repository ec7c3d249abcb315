//go:build e2e

package tests

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// runs counts the lines a container's payload appended to a host file.
func runs(t *testing.T, file string) int {
	t.Helper()
	return atoi(t, must(t, "cat "+file+" 2>/dev/null | wc -l"))
}

// TestRestartOnFailure: on-failure:3 of a payload that exits 1 runs it
// exactly 4 times with a growing back-off, and ends exited 1 with
// RestartCount 3 in inspect and on D-Bus, a die event per attempt and a
// restart event per restart.
func TestRestartOnFailure(t *testing.T) {
	fresh(t)
	must(t, "rm -rf /tmp/rof && mkdir /tmp/rof")
	runBusybox(t, `--name rof --restart on-failure:3 -v /tmp/rof:/data busybox sh -c 'cut -d" " -f1 /proc/uptime >> /data/runs; exit 1'`)
	eventually(t, 30*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}}' rof)" = exited ]`)
	// Nothing more comes after the end.
	time.Sleep(time.Second)
	lines := strings.Fields(must(t, "cat /tmp/rof/runs"))
	if len(lines) != 4 {
		t.Fatalf("the payload ran %d times, want 4: %q", len(lines), lines)
	}
	var at []float64
	for _, l := range lines {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatalf("start time %q: %v", l, err)
		}
		at = append(at, f)
	}
	// Back-off 100, 200, 400 ms (plus the start's own time): each gap is
	// longer than the one before, the last ~300 ms longer than the first.
	g1, g2, g3 := at[1]-at[0], at[2]-at[1], at[3]-at[2]
	t.Logf("gaps between starts: %.2f %.2f %.2f s", g1, g2, g3)
	if g1 < 0.09 || g3-g1 < 0.2 || g2 <= g1-0.02 || g3 <= g2 {
		t.Errorf("gaps between starts %.2f %.2f %.2f s: no doubling back-off from 100 ms", g1, g2, g3)
	}
	if got := must(t, "berthctl inspect -f '{{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' rof"); got != "3 1 false on-failure:3" {
		t.Errorf("inspect: %q, want RestartCount 3, exit code 1, on-failure:3", got)
	}
	if got := inspectField(t, "rof", "RestartCount"); got != "3" {
		t.Errorf("D-Bus RestartCount %q, want 3", got)
	}
	if n := atoi(t, must(t, "journalctl --no-pager -o cat BERTH_CONTAINER_NAME=rof BERTH_EVENT=die | wc -l")); n != 4 {
		t.Errorf("%d die events, want 4", n)
	}
	if n := atoi(t, must(t, "journalctl --no-pager -o cat BERTH_CONTAINER_NAME=rof BERTH_EVENT=restart | wc -l")); n != 3 {
		t.Errorf("%d restart events, want 3", n)
	}
	// A start by the user begins a new count.
	must(t, "berthctl start rof")
	eventually(t, 30*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}} {{.RestartCount}}' rof)" = "exited 3" ]`)
	if n := runs(t, "/tmp/rof/runs"); n != 8 {
		t.Errorf("after a second start the payload ran %d times in all, want 8", n)
	}
	must(t, "berthctl rm rof")
}

// TestRestartingState: while the monitor waits to restart, the container
// is restarting in ps (docker's words), inspect and on D-Bus; a stop then
// ends it for good.
func TestRestartingState(t *testing.T) {
	fresh(t)
	must(t, "rm -rf /tmp/rst && mkdir /tmp/rst")
	runBusybox(t, `--name rst --restart always -v /tmp/rst:/data busybox sh -c 'echo run >> /data/runs; exit 3'`)
	// After 6 restarts the back-off is 3.2 s, then 6.4 s.
	eventually(t, 30*time.Second, `berthctl ps --format '{{.Names}} {{.Status}}' | grep -E '^rst Restarting \(3\) .* ago$'`)
	if got := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.Restarting}} {{.State.Running}}' rst"); got != "restarting true true" {
		t.Errorf("inspect while restarting: %q", got)
	}
	if got := inspectField(t, "rst", "State"); got != "restarting" {
		t.Errorf("D-Bus State %q while restarting", got)
	}
	must(t, "berthctl stop rst")
	if got := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.ExitCode}}' rst"); got != "exited 3" {
		t.Errorf("after stop: %q", got)
	}
	n := runs(t, "/tmp/rst/runs")
	time.Sleep(7 * time.Second)
	if m := runs(t, "/tmp/rst/runs"); m != n {
		t.Errorf("the payload ran %d more times after the stop", m-n)
	}
	must(t, "berthctl rm rst")
}

// TestRestartAlways: always restarts after exit 0 and after kill -9 of
// the payload, also while berthd is stopped (and is not started for it);
// berthctl stop and systemctl stop of the scope do not restart it.
func TestRestartAlways(t *testing.T) {
	fresh(t)
	t0 := must(t, "date +%s.%N")
	must(t, "rm -rf /tmp/ral && mkdir /tmp/ral")
	id := runBusybox(t, `--name ral --restart always -v /tmp/ral:/data busybox sh -c 'echo run >> /data/runs; while [ ! -e /data/exit0 ]; do sleep 0.1; done; rm /data/exit0; exit 0'`)
	eventually(t, 10*time.Second, "[ $(cat /tmp/ral/runs | wc -l) = 1 ]")
	running := func(count int) {
		t.Helper()
		eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}} {{.RestartCount}}' ral)" = "running `+strconv.Itoa(count)+`" ]`)
	}
	// kill -9 of the payload by the user is no stop.
	pid := must(t, "berthctl inspect -f '{{.State.Pid}}' ral")
	must(t, "kill -9 "+pid)
	eventually(t, 10*time.Second, "[ $(cat /tmp/ral/runs | wc -l) = 2 ]")
	running(1)
	// An exit 0.
	must(t, "touch /tmp/ral/exit0")
	eventually(t, 10*time.Second, "[ $(cat /tmp/ral/runs | wc -l) = 3 ]")
	running(2)
	pid = must(t, "berthctl inspect -f '{{.State.Pid}}' ral")

	// berthd stopped: the monitor restarts the payload alone.
	must(t, "systemctl stop berthd.service")
	if got, _, _ := sh(t, "systemctl is-active berthd.service"); strings.TrimSpace(got) != "inactive" {
		t.Fatalf("berthd is %q after its stop", got)
	}
	must(t, "kill -9 "+pid)
	eventually(t, 10*time.Second, "[ $(cat /tmp/ral/runs | wc -l) = 4 ]")
	time.Sleep(500 * time.Millisecond)
	if got, _, _ := sh(t, "systemctl is-active berthd.service"); strings.TrimSpace(got) != "inactive" {
		t.Fatalf("berthd is %q after a restart by the monitor, want inactive", got)
	}
	// The monitor wrote the events of the restart itself.
	must(t, "journalctl --no-pager SYSLOG_IDENTIFIER=berth-monitor BERTH_CONTAINER_ID="+id+" BERTH_EVENT=restart | grep -q 'restart 3'")
	must(t, "journalctl --no-pager SYSLOG_IDENTIFIER=berth-monitor BERTH_CONTAINER_ID="+id+" BERTH_EVENT=die | grep -q 'exit code 137'")
	// berthd, activated again, reads the restart from the monitor's state
	// (and writes no second event for it).
	running(3)
	if got := must(t, "berthctl events --since "+t0+" --until 0s --filter container=ral --filter event=start | wc -l"); got != "4" {
		t.Errorf("%s start events for a start and 3 restarts (docker's start), want 4", got)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Pid}}' ral"); got == pid || got == "0" {
		t.Errorf("pid %s after the restart (was %s)", got, pid)
	}

	// berthctl stop never restarts.
	must(t, "berthctl stop -t 1 ral")
	time.Sleep(time.Second)
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' ral"); got != "exited" {
		t.Errorf("after berthctl stop: %s", got)
	}
	if n := runs(t, "/tmp/ral/runs"); n != 4 {
		t.Errorf("ran %d times after berthctl stop, want 4", n)
	}
	// Nor does systemctl stop of the scope.
	must(t, "berthctl start ral")
	eventually(t, 10*time.Second, "[ $(cat /tmp/ral/runs | wc -l) = 5 ]")
	must(t, "systemctl stop berth-"+id+".scope")
	eventually(t, 20*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}}' ral)" = exited ]`)
	time.Sleep(time.Second)
	if n := runs(t, "/tmp/ral/runs"); n != 5 {
		t.Errorf("ran %d times after systemctl stop of the scope, want 5", n)
	}
	must(t, "berthctl rm ral")
	noLeftovers(t)
}

// TestRestartKeepsPublishedPort: a restart by the monitor keeps the run's
// network namespace, so the published port answers again afterwards.
func TestRestartKeepsPublishedPort(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, "berthctl run -d --name rweb --restart always -p 8600:80 "+httpd)
	eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8600/")
	ip := must(t, "berthctl inspect -f '{{.NetworkSettings.IPAddress}}' rweb")
	must(t, "kill -9 $(berthctl inspect -f '{{.State.Pid}}' rweb)")
	eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}} {{.RestartCount}}' rweb)" = "running 1" ]`)
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8600/"); !strings.HasPrefix(got, "hello from") {
		t.Errorf("after the restart: %q", got)
	}
	if got := must(t, "berthctl inspect -f '{{.NetworkSettings.IPAddress}}' rweb"); got != ip {
		t.Errorf("address %q after the restart, was %q", got, ip)
	}
	must(t, "berthctl rm -f rweb")
	noLeftovers(t)
}

// TestRestoreAfterReboot: after a (simulated) reboot, restarting berthd
// starts nothing; berth-restore.service starts always and unless-stopped
// containers, but not one the user stopped before the reboot (berthctl
// stop, or systemctl stop of its scope), nor one without a policy.
func TestRestoreAfterReboot(t *testing.T) {
	fresh(t)
	ids := map[string]string{}
	for name, policy := range map[string]string{"ra": "always", "ru": "unless-stopped", "rs": "unless-stopped", "rq": "unless-stopped", "rn": "no"} {
		ids[name] = runDetached(t, "--name "+name+" --network none --restart "+policy+" -- sleep 1000")
	}
	// Created and never started: a boot does not start it (docker's
	// restore takes only containers that ran).
	must(t, "berthctl create --name rc --restart always --network none --rootfs "+rootfs+" -- sleep 1000")
	must(t, "berthctl stop -t 0 rs")
	must(t, "systemctl stop berth-"+ids["rq"]+".scope")
	eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}}' rq)" = exited ]`)
	script := "systemctl stop berthd.service\n"
	for _, id := range ids {
		script += "systemctl kill -s KILL berth-" + id + ".scope 2>/dev/null || true\n"
	}
	must(t, script)
	for _, id := range ids {
		eventually(t, 10*time.Second, "! systemctl is-active -q berth-"+id+".scope")
		must(t, "rm -rf /run/berth/containers/"+id+" /run/berth/runc/"+id+" && "+
			`sed -i 's/"boot_id": "[0-9a-f-]*"/"boot_id": "00000000000000000000000000000000"/' /var/lib/berth/containers/`+id+"/container.json")
	}
	status := func() string {
		return must(t, "berthctl ps -a --format '{{.Names}}={{.State}}' | sort | tr '\\n' ' '")
	}
	if got := status(); got != "ra=exited rc=created rn=exited rq=exited rs=exited ru=exited" {
		t.Fatalf("after the reboot: %s", got)
	}
	must(t, "systemctl restart berthd.service")
	time.Sleep(time.Second)
	if got := status(); got != "ra=exited rc=created rn=exited rq=exited rs=exited ru=exited" {
		t.Fatalf("after a restart of berthd: %s", got)
	}
	must(t, "systemctl start berth-restore.service")
	if got := status(); got != "ra=running rc=created rn=exited rq=exited rs=exited ru=running" {
		t.Errorf("after berth-restore.service: %s", got)
	}
	must(t, "berthctl exec ra true && berthctl exec ru true")
	must(t, "berthctl rm -f ra ru rs rq rn rc")
	noLeftovers(t)
}

// TestRestartUpdate: update --restart records the policy and tells the
// running monitor, which applies it at the next exit.
func TestRestartUpdate(t *testing.T) {
	fresh(t)
	must(t, "rm -rf /tmp/rup && mkdir /tmp/rup")
	runBusybox(t, `--name rup -v /tmp/rup:/data busybox sh -c 'echo run >> /data/runs; while [ ! -e /data/go ]; do sleep 0.1; done; rm /data/go; exit 5'`)
	eventually(t, 10*time.Second, "[ $(cat /tmp/rup/runs | wc -l) = 1 ]")
	must(t, "berthctl update --restart on-failure:1 rup")
	if got := must(t, "berthctl inspect -f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' rup"); got != "on-failure:1" {
		t.Errorf("policy after update: %q", got)
	}
	must(t, "touch /tmp/rup/go")
	eventually(t, 10*time.Second, "[ $(cat /tmp/rup/runs | wc -l) = 2 ]")
	eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}} {{.RestartCount}}' rup)" = "running 1" ]`)
	must(t, "touch /tmp/rup/go")
	eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' rup)" = "exited 5 1" ]`)
	if n := runs(t, "/tmp/rup/runs"); n != 2 {
		t.Errorf("ran %d times, want 2", n)
	}
	// A bad policy changes nothing.
	if e := fails(t, "berthctl update --restart sometimes rup"); !strings.Contains(e, "sometimes") {
		t.Errorf("update --restart sometimes: %q", e)
	}
	if got := must(t, "berthctl inspect -f '{{.HostConfig.RestartPolicy.Name}}' rup"); got != "on-failure" {
		t.Errorf("policy after a refused update: %q", got)
	}
	// The Engine API's update and inspect.
	must(t, `curl -sf --unix-socket /run/berth/berth.sock -H 'Content-Type: application/json' -d '{"RestartPolicy":{"Name":"unless-stopped"}}' http://d/v1.51/containers/rup/update`)
	if got := must(t, `curl -s --unix-socket /run/berth/berth.sock http://d/v1.51/containers/rup/json | tr -d ' \n' | grep -o '"RestartPolicy":{[^}]*}'`); got != `"RestartPolicy":{"MaximumRetryCount":0,"Name":"unless-stopped"}` {
		t.Errorf("Engine API policy after update: %q", got)
	}
	must(t, "berthctl rm rup")
}

// TestRestartBadInput: what docker refuses is refused with a clear error,
// and nothing is created.
func TestRestartBadInput(t *testing.T) {
	fresh(t)
	for args, msg := range map[string]string{
		"--restart sometimes":     "unknown",
		"--restart on-failure:-1": "negative",
		"--restart on-failure:x":  "integer",
		"--restart always:3":      "on-failure",
		"--restart always --rm":   "--rm",
	} {
		e := fails(t, "berthctl create --name bad "+args+" --rootfs "+rootfs+" -- true")
		if !strings.Contains(e, msg) || !strings.Contains(e, "restart policy") {
			t.Errorf("create %s: %q, want an error about the restart policy saying %q", args, e, msg)
		}
		fails(t, "berthctl inspect bad")
	}
	// The same through the Engine API.
	out := must(t, `curl -s -w ' %{http_code}' --unix-socket /run/berth/berth.sock -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}}' 'http://d/v1.51/containers/create?name=bad'`)
	if !strings.HasSuffix(out, " 400") || !strings.Contains(out, "negative") {
		t.Errorf("Engine API create with on-failure:-1: %s", out)
	}
	if got := must(t, "berthctl ps -aq | wc -l"); got != "0" {
		t.Errorf("%s containers left after refused creates", got)
	}
	noLeftovers(t)
}

// TestRestartWait: wait returns at an exit that the restart policy
// follows with a restart, as docker's does (a restart releases waiters):
// berthctl wait, the Engine API's conditions, and an attached docker run
// of an always container, which would otherwise never end.
func TestRestartWait(t *testing.T) {
	fresh(t)
	runBusybox(t, "--name wt --restart on-failure:3 busybox sh -c 'sleep 1; exit 5'")
	if got := must(t, "timeout 3 berthctl wait wt"); got != "5" {
		t.Fatalf("wait: %q, want 5 at the first exit", got)
	}
	runBusybox(t, "--name wa --restart always busybox sh -c 'sleep 1; exit 6'")
	for _, cond := range []string{"not-running", "next-exit"} {
		if got := must(t, "timeout 4 curl -sf -X POST --unix-socket /run/berth/berth.sock 'http://d/v1.51/containers/wa/wait?condition="+cond+"'"); got != `{"StatusCode":6}` {
			t.Errorf("wait %s: %q", cond, got)
		}
	}
	if _, _, code := dockerCode(t, "run --name wd --restart always busybox sh -c 'sleep 1; exit 7'"); code != 7 {
		t.Errorf("attached docker run --restart always: exit %d, want 7 at the first exit", code)
	}
	eventually(t, 10*time.Second, `[ "$(berthctl inspect -f '{{.RestartCount}}' wd)" -ge 1 ]`)
	// A container waiting to be restarted counts as running: its wait
	// ends at the next exit. Each attempt exits with its own number.
	must(t, "rm -rf /tmp/rw && mkdir /tmp/rw && echo 0 > /tmp/rw/n")
	runBusybox(t, `--name wr --restart always -v /tmp/rw:/d busybox sh -c 'n=$(( $(cat /d/n) + 1 )); echo $n > /d/n; exit $n'`)
	eventually(t, 20*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}}' wr)" = restarting ] && [ $(cat /tmp/rw/n) -ge 6 ]`)
	last := must(t, "berthctl inspect -f '{{.State.ExitCode}}' wr")
	got := must(t, "timeout 30 berthctl wait wr")
	if n, _ := strconv.Atoi(last); got != strconv.Itoa(n+1) {
		t.Errorf("wait on a restarting container (last exit %s): %s, want the next exit's %d", last, got, n+1)
	}
	must(t, "berthctl rm -f wt wa wd wr")
	noLeftovers(t)
}

// TestRestartAfterMonitorLost: when a container's monitor was killed and
// then its payload ended, berthd (which records the exit) applies the
// restart policy itself, as dockerd does when a shim dies; without a
// policy the container stays exited.
func TestRestartAfterMonitorLost(t *testing.T) {
	fresh(t)
	id := runBusybox(t, "--name ml --restart always busybox sleep 1000")
	idn := runBusybox(t, "--name mn busybox sleep 1000")
	for _, c := range []string{id, idn} {
		pid := must(t, "berthctl inspect -f '{{.State.Pid}}' "+c)
		must(t, "kill -9 "+monitorPID(t, c)+" && sleep 0.2 && kill -9 "+pid)
	}
	eventually(t, 15*time.Second, `[ "$(berthctl inspect -f '{{.State.Status}}' mn)" = exited ]`)
	eventually(t, 15*time.Second, `berthctl inspect -f '{{.State.Status}} {{.State.Pid}}' ml | grep -q '^running [1-9]'`)
	must(t, "systemctl is-active -q berth-"+id+".scope && berthctl exec ml true")
	time.Sleep(2 * time.Second)
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' mn"); got != "exited" {
		t.Errorf("the container without a policy is %s, want exited", got)
	}
	must(t, "berthctl rm -f ml mn")
	noLeftovers(t)
}
