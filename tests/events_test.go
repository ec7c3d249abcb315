//go:build e2e

package tests

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// now is the sandbox's time as unix seconds with nanoseconds, a form that
// --since and --until (berthctl's and docker's) take.
func now(t *testing.T) string {
	t.Helper()
	return must(t, "date +%s.%N")
}

// TestEventsWhileBerthdGone: the events of runs that ended while berthd
// was stopped are read back by `berthctl events --since`: a --rm
// container whose monitor could not start berthd (its socket stopped too)
// writes its die and destroy itself; a container without --rm writes its
// die at its exit too, and the next berthd writes none again.
func TestEventsWhileBerthdGone(t *testing.T) {
	fresh(t)
	t0 := now(t)
	id1 := runDetached(t, "--rm --name gone1 -l app=ev -- sleep 2")
	id2 := runDetached(t, "--name gone2 -- sh -c 'sleep 2; exit 3'")
	must(t, "systemctl stop berthd.socket berthd.service")
	// The monitors find no berthd and write the events themselves.
	eventually(t, 30*time.Second, "journalctl -o cat --no-pager SYSLOG_IDENTIFIER=berth-monitor BERTH_EVENT=remove BERTH_CONTAINER_ID="+id1+" | grep .")
	eventually(t, 30*time.Second, "journalctl -o cat --no-pager SYSLOG_IDENTIFIER=berth-monitor BERTH_EVENT=die BERTH_CONTAINER_ID="+id2+" | grep .")
	tDied := now(t)
	if out, _, code := sh(t, "systemctl is-active berthd.service"); code == 0 {
		t.Fatalf("berthd ran while the containers exited: %s", out)
	}
	must(t, "systemctl start berthd.socket")
	t1 := now(t)
	got := must(t, "berthctl events --since "+t0+" --until "+t1+" --filter container=gone1 --format '{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"exitCode\"}} {{index .Actor.Attributes \"app\"}}'")
	want := "container create " + id1 + "  ev\ncontainer start " + id1 + "  ev\ncontainer die " + id1 + " 0 ev\ncontainer destroy " + id1 + "  ev"
	if got != want {
		t.Errorf("events of gone1:\n%s\nwant\n%s", got, want)
	}
	// The default format is docker's line.
	line := must(t, "berthctl events --since "+t0+" --until "+t1+" --filter container=gone1 --filter event=die")
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die ` + id1 + ` \(app=ev, exitCode=0, image=/srv/rootfs, name=gone1\)$`)
	if !re.MatchString(line) {
		t.Errorf("default format: %q", line)
	}
	// gone2's die is there once, from before berthd came back, whose
	// wait reads the exit.
	if code := must(t, "berthctl wait gone2"); code != "3" {
		t.Fatalf("wait gone2: %s", code)
	}
	t2 := now(t)
	got = must(t, "berthctl events --since "+t0+" --until "+t2+" --filter container="+id2[:12]+" --format '{{.Action}} {{index .Actor.Attributes \"exitCode\"}}'")
	if got != "create \nstart \ndie 3" {
		t.Errorf("events of gone2: %q", got)
	}
	if got := must(t, "berthctl events --since "+t0+" --until "+tDied+" --filter container=gone2 --filter event=die | wc -l"); got != "1" {
		t.Errorf("%s die events of gone2 before berthd came back, want 1", got)
	}
}

// TestEventsFiltersAndFormats: filters by label, type and event, several
// values of a key, JSON output, and the events of pause, unpause, kill and
// stop in docker's order.
func TestEventsFiltersAndFormats(t *testing.T) {
	fresh(t)
	t0 := now(t)
	runDetached(t, "--name ga -l tier=front -- true")
	runDetached(t, "--name gb -- true")
	must(t, "berthctl wait ga gb")
	runDetached(t, "--name gc -- sleep 100")
	must(t, "berthctl pause gc && berthctl unpause gc && berthctl kill -s USR1 gc && berthctl stop -t 1 gc")
	t1 := now(t)
	ev := func(args string) string {
		return must(t, "berthctl events --since "+t0+" --until "+t1+" "+args)
	}
	if got := ev("--filter label=tier=front --format '{{.Actor.Attributes.name}} {{.Action}}'"); got != "ga create\nga start\nga die" {
		t.Errorf("label=tier=front: %q", got)
	}
	if got := ev("--filter type=container --filter event=start --format '{{.Actor.Attributes.name}}'"); got != "ga\ngb\ngc" {
		t.Errorf("type=container event=start: %q", got)
	}
	if got := ev("--filter container=ga --filter container=gb --filter event=die --format '{{.Actor.Attributes.name}} {{index .Actor.Attributes \"exitCode\"}}'"); got != "ga 0\ngb 0" {
		t.Errorf("container=ga container=gb event=die: %q", got)
	}
	if got := ev("--filter type=volume"); got != "" {
		t.Errorf("type=volume: %q", got)
	}
	if got := ev("--filter container=gc --format '{{.Action}} {{index .Actor.Attributes \"signal\"}}'"); got != "create \nstart \npause \nunpause \nkill 10\nkill 15\ndie \nstop" {
		t.Errorf("gc's events: %q", got)
	}
	out := ev("--filter container=gb --format json")
	lines := strings.Split(out, "\n")
	if len(lines) != 3 {
		t.Fatalf("json: %q", out)
	}
	for _, l := range lines {
		var m struct {
			Type, Action string
			Actor        struct {
				ID         string
				Attributes map[string]string
			}
			Scope    string `json:"scope"`
			Time     int64  `json:"time"`
			TimeNano int64  `json:"timeNano"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("json line %q: %v", l, err)
		}
		if m.Type != "container" || len(m.Actor.ID) != 64 || m.Actor.Attributes["name"] != "gb" || m.Actor.Attributes["image"] != rootfs ||
			m.Scope != "local" || m.TimeNano/1e9 != m.Time || m.Time < time.Now().Add(-time.Hour).Unix() {
			t.Errorf("json line: %q", l)
		}
	}
}

// TestEventsFollow: without --until, events follows and shows what
// happens next; when the client goes, berthd's journal reader goes too.
func TestEventsFollow(t *testing.T) {
	fresh(t)
	must(t, "berthctl ps -a >/dev/null") // berthd up
	must(t, "setsid berthctl events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' >/tmp/events.follow 2>&1 </dev/null & echo $! >/tmp/events.pid")
	t.Cleanup(func() { sh(t, "kill $(cat /tmp/events.pid) 2>/dev/null") })
	eventually(t, 10*time.Second, "pgrep -x journalctl")
	runDetached(t, "--name live -- sleep 100")
	eventually(t, 10*time.Second, "grep -qx 'create live' /tmp/events.follow && grep -qx 'start live' /tmp/events.follow")
	must(t, "berthctl rm -f live")
	eventually(t, 10*time.Second, "grep -qx 'destroy live' /tmp/events.follow")
	if got := must(t, "cat /tmp/events.follow"); !strings.HasPrefix(got, "create live\nstart live\n") {
		t.Errorf("followed: %q", got)
	}
	must(t, "kill $(cat /tmp/events.pid)")
	eventually(t, 10*time.Second, "! pgrep -x journalctl")
	// A future --until follows until then.
	began := time.Now()
	must(t, "berthctl events --until $(($(date +%s) + 2))")
	if d := time.Since(began); d < time.Second || d > 10*time.Second {
		t.Errorf("events --until in 2 s returned after %v", d)
	}
}

// TestEventsBadInput: a malformed --since, an unknown filter key or type,
// a filter without '=', a bad --format template: each a clear error,
// before any stream.
func TestEventsBadInput(t *testing.T) {
	fresh(t)
	for _, c := range []struct{ args, want string }{
		{"--since yesterday", `--since: "yesterday": not a time`},
		{"--until 10x", `--until: "10x": not a time`},
		{"--since 1m --until 2m", "--until 2m is before --since 1m"},
		{"--filter colour=red", "invalid filter 'colour'"},
		{"--filter type=boat", "filter 'type=boat': unknown event type"},
		{"--filter container", `--filter "container": want KEY=VALUE`},
		{"--format '{{.Action'", "--format: template"},
	} {
		_, errOut, code := sh(t, "timeout 10 berthctl events "+c.args)
		if code == 0 || code == 124 || !strings.Contains(errOut, c.want) {
			t.Errorf("events %s: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
	_, errOut, code := sh(t, dockerEnv+"timeout 10 docker events --filter colour=red")
	if code == 0 || code == 124 || !strings.Contains(errOut, "invalid filter 'colour'") {
		t.Errorf("docker events --filter colour=red: exit %d, stderr %q", code, errOut)
	}
	if out := must(t, "pgrep -x journalctl || true"); out != "" {
		t.Errorf("a journalctl is left: %s", out)
	}
	// Events are for root and group berth, whose members need no access
	// to the journal of their own.
	if msg := fails(t, "setpriv --reuid=65534 --regid=65534 --clear-groups berthctl events --since 1m --until 0s"); !strings.Contains(msg, "permission denied") {
		t.Errorf("events as nobody: %q", msg)
	}
	runDetached(t, "--name seen -- true")
	must(t, "berthctl wait seen")
	member := "setpriv --reuid=65534 --regid=65534 --groups=$(getent group berth | cut -d: -f3) "
	fails(t, member+"journalctl --no-pager -n 1 BERTH_CONTAINER_NAME=seen | grep seen")
	if got := must(t, member+"berthctl events --since 1m --until 0s --filter container=seen --format '{{.Action}}'"); got != "create\nstart\ndie" {
		t.Errorf("events as a member of group berth: %q", got)
	}
}

// TestEventsDocker: docker events with --since, --until and filters over
// container, volume and image events.
func TestEventsDocker(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	t0 := now(t)
	id := docker(t, "run -d --name dweb -l tier=front busybox sh -c 'exit 4'")
	docker(t, "wait dweb")
	docker(t, "rm dweb")
	docker(t, "volume create dvol && "+"docker volume rm dvol")
	docker(t, "tag busybox busybox:ev && docker rmi busybox:ev")
	t1 := now(t)
	ev := func(args string) string {
		return docker(t, "events --since "+t0+" --until "+t1+" "+args)
	}
	if got := ev("--filter container=dweb --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}}'"); got != "container create dweb busybox\ncontainer start dweb busybox\ncontainer die dweb busybox\ncontainer destroy dweb busybox" {
		t.Errorf("container=dweb: %q", got)
	}
	if got := ev("--filter label=tier=front --filter event=die"); !strings.Contains(got, "container die "+id+" (exitCode=4, image=busybox, name=dweb, tier=front)") {
		t.Errorf("label and event filters, default format: %q", got)
	}
	if got := ev("--filter type=volume --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}'"); got != "create dvol local\ndestroy dvol local" {
		t.Errorf("type=volume: %q", got)
	}
	if got := ev("--filter type=image --format '{{.Action}} {{.Actor.Attributes.name}}'"); got != "tag busybox:ev\nuntag busybox:ev" {
		t.Errorf("type=image: %q", got)
	}
	if got := ev("--filter image=busybox --filter event=start --format '{{.Actor.Attributes.name}}'"); got != "dweb" {
		t.Errorf("image=busybox event=start: %q", got)
	}
	// A duration, which docker's client turns into whole seconds before
	// now: wait for the second of the removal to pass.
	time.Sleep(1100 * time.Millisecond)
	if got := docker(t, "events --since 5m --until 0s --filter container=dweb --filter event=destroy --format '{{.Action}}'"); got != "destroy" {
		t.Errorf("--since 5m --until 0s: %q", got)
	}
	// The raw stream is docker's JSON, with the older fields too.
	raw := must(t, "curl -sf --unix-socket /run/berth/berth.sock 'http://x/v1.51/events?since="+t0+"&until="+t1+"&filters=%7B%22event%22%3A%7B%22die%22%3Atrue%7D%7D'")
	if !strings.Contains(raw, `"status":"die","id":"`+id+`","from":"busybox","Type":"container","Action":"die"`) {
		t.Errorf("GET /events: %s", raw)
	}
}

// TestEventsRestartAndHealth: the events that monitors write (a restart
// by the policy, read back as docker's start; a change of health status)
// are read like berthd's, with the container's image and labels; a
// restart by the user ends with docker's restart.
func TestEventsRestartAndHealth(t *testing.T) {
	fresh(t)
	t0 := now(t)
	runDetached(t, "--name evhc -l app=evhc --health-cmd true --health-interval 1s -- sleep 100")
	runDetached(t, "--name evrs -l app=evrs --restart on-failure:1 -- sh -c 'exit 1'")
	eventually(t, 30*time.Second, "berthctl events --since "+t0+" --until 0s --filter event=health_status --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.app}} {{.Actor.Attributes.image}}' | grep -x 'health_status: healthy evhc evhc /srv/rootfs'")
	eventually(t, 30*time.Second, "berthctl events --since "+t0+" --until 0s --filter label=app=evrs --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}}' | tr '\\n' , | grep -x 'create evrs /srv/rootfs,start evrs /srv/rootfs,die evrs /srv/rootfs,start evrs /srv/rootfs,die evrs /srv/rootfs,'")
	// A restart by the user ends with docker's restart event.
	runDetached(t, "--name evur -- sleep 100")
	must(t, "berthctl restart -t 0 evur")
	eventually(t, 10*time.Second, "berthctl events --since "+t0+" --until 0s --filter container=evur --format '{{.Action}}' | tr '\\n' , | grep -x 'create,start,kill,die,stop,start,restart,'")
}

// TestEventSignals: while berthd runs, each event is also a D-Bus Event
// signal on the manager (type, action, actor, attributes, time), a health
// status change that a monitor reported included.
func TestEventSignals(t *testing.T) {
	fresh(t)
	must(t, "berthctl ps >/dev/null")
	must(t, `rm -f /tmp/sig.txt; (timeout 60 stdbuf -oL busctl --system monitor --match "type='signal',interface='io.berth.Engine1.Manager',member='Event'" >/tmp/sig.txt 2>&1 &); sleep 1`)
	defer sh(t, "pkill -f 'busctl --system monitor' || true")
	id := runDetached(t, "--name evsig -l app=evsig --health-cmd true --health-interval 200ms -- sleep 100")
	eventually(t, 20*time.Second, `[ "$(berthctl inspect -f '{{.State.Health.Status}}' evsig)" = healthy ]`)
	must(t, "berthctl rm -f evsig")
	// busctl prints a signal's arguments one per line after its header
	// (STRING "container"; STRING "create"; STRING "<id>"; ARRAY ...):
	// without the blanks, each event is one run of text.
	for _, action := range []string{"create", "start", "health_status:healthy", "kill", "die", "destroy"} {
		eventuallyOr(t, 10*time.Second, "head -c 3000 /tmp/sig.txt", `tr -d ' \t\n' </tmp/sig.txt | grep -qF 'STRING"container";STRING"`+action+`";STRING"`+id+`";ARRAY"{ss}"{'`)
	}
	must(t, `tr -d ' \t\n' </tmp/sig.txt | grep -qF 'DICT_ENTRY"ss"{STRING"app";STRING"evsig";}'`)
}

// TestEventsAfterRename: after a rename, the running monitor's own events
// (health_status; die while berthd is gone) carry the new name.
func TestEventsAfterRename(t *testing.T) {
	fresh(t)
	t0 := now(t)
	must(t, "rm -rf /run/rn && mkdir /run/rn")
	runBusybox(t, "--name rnold -v /run/rn:/h --health-cmd 'test ! -e /h/fail' --health-interval 200ms --health-retries 1 busybox sh -c 'while [ ! -e /h/die ]; do sleep 0.1; done; exit 2'")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' rnold | grep -x healthy")
	must(t, "berthctl rename rnold rnnew")
	must(t, "touch /run/rn/fail")
	eventually(t, 10*time.Second, "berthctl inspect -f '{{.State.Health.Status}}' rnnew | grep -x unhealthy")
	must(t, "systemctl stop berthd.socket berthd.service && touch /run/rn/die")
	eventually(t, 10*time.Second, "journalctl -o cat --no-pager SYSLOG_IDENTIFIER=berth-monitor BERTH_EVENT=die BERTH_CONTAINER_NAME=rnnew | grep .")
	must(t, "systemctl start berthd.socket")
	got := must(t, "berthctl events --since "+t0+" --until 0s --filter container=rnnew --format '{{.Action}} {{.Actor.Attributes.name}}'")
	for _, want := range []string{"rename rnnew", "health_status: unhealthy rnnew", "die rnnew"} {
		if !strings.Contains(got, want) {
			t.Errorf("events of rnnew:\n%s\nwant a line %q", got, want)
		}
	}
	must(t, "berthctl rm -f rnnew")
}
