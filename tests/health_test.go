//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// healthEventID is the MESSAGE_ID of health_status events.
const healthEventID = "0e5a3b7c2d914f6e8b1a4c9d7e2f6a35"

// healthEvents lists a container's health_status events in the journal,
// oldest first, as their BERTH_EVENT values joined by commas.
func healthEvents(t *testing.T, name string) string {
	t.Helper()
	return must(t, "journalctl --no-pager -o json MESSAGE_ID="+healthEventID+" BERTH_CONTAINER_NAME="+name+
		` | grep -o '"BERTH_EVENT":"[^"]*"' | cut -d'"' -f4 | paste -sd, -`)
}

// runBusybox loads the busybox image (once per engine) and starts a
// container of it: its own writable root, unlike --rootfs's shared one.
func runBusybox(t *testing.T, args string) string {
	t.Helper()
	must(t, "berthctl image inspect busybox >/dev/null 2>&1 || berthctl load -i /srv/images/busybox-docker.tar")
	id := must(t, "berthctl run -d "+args)
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a 64-hex id", id)
	}
	return id
}

func healthStatus(t *testing.T, ref string) string {
	t.Helper()
	return must(t, "berthctl inspect -f '{{.State.Health.Status}}' "+ref)
}

// A check that fails in the start period keeps the container starting;
// once it passes, healthy; made to fail, unhealthy after retries; one
// health_status event per change and none per passing check; the status
// in ps, inspect and the D-Bus Health property with PropertiesChanged.
func TestHealthcheckStates(t *testing.T) {
	fresh(t)
	id := runBusybox(t, "--name hc --health-cmd 'test -e /tmp/ok' --health-interval 300ms --health-retries 2 "+
		"--health-start-period 6s --health-start-interval 100ms busybox sh -c 'sleep 3; touch /tmp/ok; exec sleep 1000'")
	path := must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainer s hc | cut -d'\"' -f2")
	must(t, "(timeout 20 busctl monitor --match \"type='signal',interface='org.freedesktop.DBus.Properties',path='"+path+"'\" > /tmp/hc-signals 2>&1 &) ; sleep 0.5")
	// Failures in the start period do not count: still starting, with
	// failed checks in the log.
	time.Sleep(1200 * time.Millisecond)
	if got := healthStatus(t, "hc"); got != "starting" {
		t.Fatalf("health %q during the start period, want starting", got)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}' hc"); got != "0 1" {
		t.Fatalf("streak and first exit code %q, want 0 1 (failures in the start period do not count)", got)
	}
	if ps := must(t, "berthctl ps --format '{{.Status}}' --filter name=hc"); !strings.HasSuffix(ps, "(health: starting)") {
		t.Fatalf("ps status %q, want docker's (health: starting)", ps)
	}
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hc | grep -x healthy")
	if ps := must(t, "berthctl ps --format '{{.Status}}' --filter name=hc"); !strings.HasSuffix(ps, "(healthy)") {
		t.Fatalf("ps status %q, want (healthy)", ps)
	}
	if got := inspectField(t, "hc", "Health"); got != "healthy" {
		t.Fatalf("D-Bus Health %q, want healthy", got)
	}
	// Passing checks (every 300 ms) write no event.
	time.Sleep(1500 * time.Millisecond)
	if ev := healthEvents(t, "hc"); ev != "health_status: healthy" {
		t.Fatalf("events %q, want one health_status: healthy", ev)
	}
	if n := atoi(t, must(t, "berthctl inspect -f '{{len .State.Health.Log}}' hc")); n != 5 {
		t.Fatalf("%d results in the log, want the last 5", n)
	}
	must(t, "berthctl exec hc rm /tmp/ok")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hc | grep -x unhealthy")
	if got := must(t, "berthctl inspect -f '{{.State.Health.FailingStreak}}' hc"); atoi(t, got) < 2 {
		t.Fatalf("failing streak %s, want at least the 2 retries", got)
	}
	if ps := must(t, "berthctl ps --format '{{.Status}}' --filter name=hc"); !strings.HasSuffix(ps, "(unhealthy)") {
		t.Fatalf("ps status %q, want (unhealthy)", ps)
	}
	if got := must(t, "berthctl ps -q --filter health=unhealthy | wc -l; berthctl ps -q --filter health=healthy | wc -l"); got != "1\n0" {
		t.Fatalf("ps --filter health=unhealthy, healthy: %q, want 1 and 0", got)
	}
	time.Sleep(time.Second)
	if ev := healthEvents(t, "hc"); ev != "health_status: healthy,health_status: unhealthy" {
		t.Fatalf("events %q, want exactly healthy then unhealthy", ev)
	}
	must(t, "journalctl --no-pager -o json MESSAGE_ID="+healthEventID+" BERTH_CONTAINER_ID="+id+" BERTH_HEALTH_STATUS=unhealthy | grep -q .")
	must(t, "berthctl exec hc touch /tmp/ok")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hc | grep -x healthy")
	time.Sleep(time.Second)
	if ev := healthEvents(t, "hc"); ev != "health_status: healthy,health_status: unhealthy,health_status: healthy" {
		t.Fatalf("events %q, want healthy, unhealthy, healthy", ev)
	}
	// PropertiesChanged carried the Health property.
	eventually(t, 5*time.Second, `grep -A3 '"Health"' /tmp/hc-signals | grep -q '"unhealthy"'`)
}

// The monitor keeps checking while berthd is gone: the state read after
// berthd is activated again is the one reached meanwhile, and the event
// was written meanwhile.
func TestHealthcheckWhileBerthdGone(t *testing.T) {
	fresh(t)
	must(t, "rm -rf /run/hc-flag && mkdir -p /run/hc-flag")
	runBusybox(t, "--name gone -v /run/hc-flag:/flag --health-cmd 'test ! -e /flag/bad' --health-interval 200ms --health-retries 2 busybox sleep 1000")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' gone | grep -x healthy")
	must(t, "systemctl stop berthd.service && ! systemctl is-active -q berthd.service")
	must(t, "touch /run/hc-flag/bad")
	eventually(t, 10*time.Second, "journalctl --no-pager MESSAGE_ID="+healthEventID+" BERTH_CONTAINER_NAME=gone BERTH_HEALTH_STATUS=unhealthy | grep -q unhealthy")
	if out, _, _ := sh(t, "systemctl is-active berthd.service"); strings.TrimSpace(out) == "active" {
		t.Fatal("berthd was started by a health check; the monitor must work without it")
	}
	if got := healthStatus(t, "gone"); got != "unhealthy" {
		t.Fatalf("health %q after berthd came back, want unhealthy", got)
	}
	if got := inspectField(t, "gone", "Health"); got != "unhealthy" {
		t.Fatalf("D-Bus Health %q, want unhealthy", got)
	}
}

// --health-on-failure kill ends the container when it becomes unhealthy;
// restart starts the payload again in the same scope; stop stops it.
func TestHealthcheckOnFailure(t *testing.T) {
	fresh(t)
	must(t, "rm -rf /run/hc-flag && mkdir -p /run/hc-flag && touch /run/hc-flag/bad")
	runBusybox(t, "--name hk -v /run/hc-flag:/flag --health-cmd 'test ! -e /flag/bad' --health-interval 200ms --health-retries 2 --health-on-failure kill busybox sleep 1000")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Status}}' hk | grep -x exited")
	if got := must(t, "berthctl inspect -f '{{.State.ExitCode}} {{.State.Health.Status}}' hk"); got != "137 unhealthy" {
		t.Fatalf("exit code and health %q, want 137 unhealthy (SIGKILL)", got)
	}

	must(t, "rm -f /run/hc-flag/bad")
	id := runBusybox(t, "--name hr -v /run/hc-flag:/flag --health-cmd 'test ! -e /flag/bad' --health-interval 200ms --health-retries 2 --health-on-failure restart --stop-timeout 1 busybox sh -c 'echo started; exec sleep 1000'")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hr | grep -x healthy")
	inv := must(t, "systemctl show -p InvocationID --value berth-"+id+".scope")
	must(t, "touch /run/hc-flag/bad")
	eventually(t, 15*time.Second, "[ $(berthctl logs hr | grep -c started) -ge 2 ]")
	must(t, "rm -f /run/hc-flag/bad")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hr | grep -x healthy")
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' hr"); got != "running" {
		t.Fatalf("state %q after the restart, want running", got)
	}
	if got := must(t, "systemctl show -p InvocationID --value berth-"+id+".scope"); got != inv {
		t.Fatalf("scope invocation %s after the restart, want the same scope %s", got, inv)
	}
	if ev := healthEvents(t, "hr"); !strings.Contains(ev, "health_status: unhealthy") {
		t.Fatalf("events %q, want an unhealthy one", ev)
	}

	must(t, "touch /run/hc-flag/bad")
	runBusybox(t, "--name hs -v /run/hc-flag:/flag --health-cmd 'test ! -e /flag/bad' --health-interval 200ms --health-retries 1 --health-on-failure stop busybox sh -c 'trap \"exit 143\" TERM; while :; do sleep 0.1; done'")
	eventually(t, 15*time.Second, "berthctl inspect -f '{{.State.Status}}' hs | grep -x exited")
	if got := must(t, "berthctl inspect -f '{{.State.ExitCode}}' hs"); got != "143" {
		t.Fatalf("exit code %s, want 143 (the stop signal, SIGTERM)", got)
	}

	// A pause is no failure: no check runs while the payload is frozen,
	// so the action on failure is not set off.
	runBusybox(t, "--name hp --health-cmd true --health-interval 200ms --health-retries 1 --health-on-failure kill busybox sleep 1000")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' hp | grep -x healthy")
	must(t, "berthctl pause hp")
	time.Sleep(1500 * time.Millisecond)
	if got := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.Health.Status}} {{.State.Health.FailingStreak}}' hp"); got != "paused healthy 0" {
		t.Fatalf("after 1.5 s paused: %q, want paused healthy 0", got)
	}
	must(t, "berthctl unpause hp")
	eventually(t, 5*time.Second, "berthctl inspect -f '{{.State.Status}} {{.State.Health.Status}}' hp | grep -x 'running healthy'")
}

// An image's HEALTHCHECK runs; --no-healthcheck drops it; a --health-*
// option overrides only its own field.
func TestHealthcheckFromImage(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/health-docker.tar")
	must(t, "berthctl run -d --name img health:v1")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' img | grep -x healthy")
	if got := must(t, "berthctl inspect -f '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}' img"); got != `["CMD-SHELL","test -e /etc/hostname"] 2` {
		t.Fatalf("Config.Healthcheck %s, want the image's", got)
	}
	must(t, "berthctl run -d --name nohc --no-healthcheck health:v1")
	time.Sleep(time.Second)
	if got := must(t, "berthctl inspect -f '{{if .State.Health}}health{{else}}none{{end}} {{json .Config.Healthcheck.Test}}' nohc"); got != `none ["NONE"]` {
		t.Fatalf("health and test %q, want none and [\"NONE\"]", got)
	}
	if ps := must(t, "berthctl ps --format '{{.Status}}' --filter name=nohc"); strings.Contains(ps, "health") {
		t.Fatalf("ps status %q, want no health", ps)
	}
	must(t, "berthctl run -d --name over --health-retries 7 health:v1")
	if got := must(t, "berthctl inspect -f '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}} {{.Config.Healthcheck.Interval}}' over"); got != `["CMD-SHELL","test -e /etc/hostname"] 7 200000000` {
		t.Fatalf("Config.Healthcheck %s, want the image's test and interval with 7 retries", got)
	}
}

// berthctl healthcheck run runs one check now; it is refused on a
// container without a healthcheck and on one that is not running.
func TestHealthcheckRun(t *testing.T) {
	fresh(t)
	runBusybox(t, "--name now --health-cmd 'test -e /tmp/ok' --health-interval 1h busybox sleep 1000")
	out, _, code := sh(t, "berthctl healthcheck run now")
	if code != 1 || strings.TrimSpace(out) != "starting" {
		t.Fatalf("healthcheck run of a failing check: exit %d, %q; want 1 and starting (1 of 3 retries)", code, out)
	}
	must(t, "berthctl exec now touch /tmp/ok")
	if got := must(t, "berthctl healthcheck run now"); got != "healthy" {
		t.Fatalf("healthcheck run printed %q, want healthy", got)
	}
	if got := must(t, "berthctl inspect -f '{{.State.Health.Status}} {{len .State.Health.Log}}' now"); got != "healthy 2" {
		t.Fatalf("health after two runs %q, want healthy 2", got)
	}
	runBusybox(t, "--name plain busybox sleep 1000")
	if msg := fails(t, "berthctl healthcheck run plain"); !strings.Contains(msg, "has no healthcheck") {
		t.Fatalf("healthcheck run without one: %q", msg)
	}
	must(t, "berthctl stop -t 1 now")
	if msg := fails(t, "berthctl healthcheck run now"); !strings.Contains(msg, "exited") {
		t.Fatalf("healthcheck run of an exited container: %q", msg)
	}
}

// Bad healthcheck options are refused with the option named, and nothing
// is created.
func TestHealthcheckBadInput(t *testing.T) {
	fresh(t)
	for _, c := range []struct{ args, want string }{
		{"--health-cmd true --health-interval 500us", "health-interval 500µs: cannot be less than 1ms"},
		{"--health-cmd true --health-timeout 999us", "health-timeout"},
		{"--health-cmd true --health-start-period 100us", "health-start-period"},
		{"--health-cmd true --health-start-interval 1us", "health-start-interval"},
		{"--health-cmd true --health-retries -1", "--health-retries -1: cannot be negative"},
		{"--health-cmd true --health-interval -1s", "--health-interval -1s: cannot be negative"},
		{"--no-healthcheck --health-cmd true", "--no-healthcheck conflicts with --health-cmd"},
		{"--health-cmd true --health-on-failure reboot", "health-on-failure \"reboot\""},
		{"--health-on-failure kill", "health-on-failure kill: the container has no healthcheck"},
	} {
		for _, verb := range []string{"run -d", "create"} {
			msg := fails(t, "berthctl "+verb+" --name bad "+c.args+" --rootfs "+rootfs+" sleep 1")
			if !strings.Contains(msg, c.want) {
				t.Errorf("%s %s: %q, want %q", verb, c.args, msg, c.want)
			}
		}
	}
	// berthd's own checks, without berthctl's.
	create := "busctl call -- io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager CreateContainer a{sv} "
	for _, c := range []struct{ opts, want string }{
		{`4 rootfs s ` + rootfs + ` cmd as 1 true health_test as 2 CMD-SHELL true health_retries i -1`, "health-retries -1: cannot be negative"},
		{`4 rootfs s ` + rootfs + ` cmd as 1 true health_test as 2 CMD-SHELL true health_interval x -5`, "health-interval"},
		{`4 rootfs s ` + rootfs + ` cmd as 1 true no_healthcheck b true health_interval x 1000000000`, "conflicts with option \"health_interval\""},
		{`3 rootfs s ` + rootfs + ` cmd as 1 true health_test as 2 SHELL true`, "want NONE, CMD or CMD-SHELL"},
	} {
		if msg := fails(t, create+c.opts); !strings.Contains(msg, c.want) {
			t.Errorf("CreateContainer %s: %q, want %q", c.opts, msg, c.want)
		}
	}
	// An image's HEALTHCHECK is held to the same bounds.
	must(t, "berthctl load -q -i /srv/images/badhealth-docker.tar")
	if msg := fails(t, "berthctl run -d --name bad badhealth:v1"); !strings.Contains(msg, "image badhealth:v1: its HEALTHCHECK, with the options given: health-interval 10ns: cannot be less than 1ms") {
		t.Errorf("run of an image with a 10 ns interval: %q", msg)
	}
	// Without its check, or with its bad values overridden, it runs.
	must(t, "berthctl create --name okno --no-healthcheck badhealth:v1 && berthctl create --name okover --health-interval 1s --health-retries 1 badhealth:v1 && berthctl rm okno okover")
	if got := must(t, "berthctl ps -aq | wc -l; ls /var/lib/berth/containers 2>/dev/null | wc -l; systemctl list-units --plain --no-legend 'berth-*.scope' | wc -l"); got != "0\n0\n0" {
		t.Fatalf("after the refusals: %q, want no container, record or scope", got)
	}
}

// The Engine API: Config.Healthcheck at create, State.Health in inspect,
// (healthy) in the list's status and the health filter, with the docker
// CLI.
func TestHealthcheckDockerCLI(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	d := "DOCKER_HOST=unix:///run/berth/berth.sock docker "
	must(t, d+"run -d --name dh --health-cmd 'test -e /etc/hostname' --health-interval 200ms --health-retries 1 busybox sleep 1000")
	must(t, d+"run -d --name dp busybox sleep 1000")
	eventually(t, 10*time.Second, d+"inspect -f '{{.State.Health.Status}}' dh | grep -x healthy")
	if got := must(t, d+"ps --filter health=healthy --format '{{.Names}} {{.Status}}'"); !strings.HasPrefix(got, "dh Up") || !strings.HasSuffix(got, "(healthy)") {
		t.Fatalf("docker ps --filter health=healthy: %q, want dh only, (healthy)", got)
	}
	if got := must(t, d+"ps --filter health=none --format '{{.Names}}'"); got != "dp" {
		t.Fatalf("docker ps --filter health=none: %q, want dp", got)
	}
	if got := must(t, d+"inspect -f '{{json .Config.Healthcheck.Test}} {{(index .State.Health.Log 0).ExitCode}}' dh"); got != `["CMD-SHELL","test -e /etc/hostname"] 0` {
		t.Fatalf("docker inspect: %s", got)
	}
	msg := fails(t, d+"run -d --name bad --health-cmd true --health-interval 100us busybox sleep 1")
	if !strings.Contains(msg, "health-interval") {
		t.Fatalf("docker run with a 100µs interval: %q", msg)
	}
}

// TestHealthcheckQuietJournal: passing checks write nothing to the
// journal: neither berth nor systemd (the runtime's exec mounts a copy of
// its binary in its state directory, which systemd would log as a mount
// unit going away; the monitor runs exec in a mount namespace of its own).
func TestHealthcheckQuietJournal(t *testing.T) {
	fresh(t)
	id := runBusybox(t, "--name quiet --health-cmd true --health-interval 100ms busybox sleep 1000")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' quiet | grep -x healthy")
	since := must(t, "sleep 1; date +%s")
	time.Sleep(4 * time.Second)
	// About 40 checks ran meanwhile.
	if n := must(t, "berthctl inspect -f '{{len .State.Health.Log}}' quiet"); n != "5" {
		t.Fatalf("health log of %s entries, want the last 5", n)
	}
	if got := must(t, "journalctl --no-pager -o cat --since @"+since+" | grep -c "+id[:12]+" || true"); got != "0" {
		sh(t, "journalctl --no-pager -o short-precise --since @"+since+" | grep "+id[:12])
		t.Fatalf("%s journal lines about the container while its checks passed, want none", got)
	}
	must(t, "berthctl exec quiet true && berthctl rm -f quiet")
}
