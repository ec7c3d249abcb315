//go:build e2e

package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// noLeftovers fails unless nothing of any container is left: no scope,
// no mount under data-root, no runtime state, no directory.
func noLeftovers(t *testing.T) {
	t.Helper()
	eventuallyOr(t, 20*time.Second, leftoversReport, `[ -z "$(systemctl list-units --all --plain --no-legend 'berth-*.scope' | grep -v ' inactive ')" ] &&
! findmnt -rn -o TARGET | grep -q '^/var/lib/berth/' &&
[ -z "$(ls -A /run/berth/runc)" ] && [ -z "$(ls -A /run/berth/containers)" ] && [ -z "$(ls -A /var/lib/berth/containers)" ] &&
`+noNetworkLeftovers)
}

// leftoversReport lists what noLeftovers found, for a failing test's log.
const leftoversReport = `systemctl list-units --all --plain --no-legend 'berth-*.scope' | grep -v ' inactive '
findmnt -rn -o TARGET | grep '^/var/lib/berth/'
ls -A /run/berth/runc /run/berth/containers /var/lib/berth/containers /run/berth/networks/attachments
ls /run/netns; ip -o link show type veth; iptables-save -t nat | grep -- '--to-destination'
grep -rs . /run/berth/networks/aardvark/aardvark-dns/
journalctl -u berthd --no-pager -n 60 | grep -v ' started\| created'
true`

// noNetworkLeftovers is true when no container's network is left: no
// namespace, veth, attachment (address lease), port forwarding rule or
// name server entry.
const noNetworkLeftovers = `[ -z "$(ls /run/netns 2>/dev/null | grep ^berth-)" ] &&
! ip -o link show type veth | grep -q . &&
[ -z "$(ls -A /run/berth/networks/attachments 2>/dev/null)" ] &&
! iptables-save -t nat | grep -q -- '--to-destination' &&
! grep -qs . /run/berth/networks/aardvark/aardvark-dns/[!a]*`

// monitorPID is the pid of a running container's berth-monitor (the one
// process of its scope's supervisor cgroup).
func monitorPID(t *testing.T, id string) string {
	t.Helper()
	return must(t, "head -1 /sys/fs/cgroup$(systemctl show -p ControlGroup --value berth-"+id+".scope)/supervisor/cgroup.procs")
}

// TestMonitorKilled: after kill -9 of a container's monitor (plain, TTY,
// paused), stop ends the payload within its timeout through the runtime
// and records an exit, the next start works at the first try, and rm -f
// of a container whose monitor is gone works at once and leaves nothing.
func TestMonitorKilled(t *testing.T) {
	fresh(t)
	for _, tc := range []struct {
		name, flags string
		pause       bool
	}{
		{name: "plain"},
		{name: "tty", flags: "-t"},
		{name: "paused", pause: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "mk-" + tc.name
			id := runDetached(t, "--name "+name+" "+tc.flags+" -- sleep 1000")
			if tc.pause {
				must(t, "berthctl pause "+name)
			}
			must(t, "kill -9 "+monitorPID(t, id))
			// The payload runs on without its monitor.
			must(t, "sleep 0.2; test -e /run/berth/runc/"+id)
			began := time.Now()
			must(t, "berthctl stop -t 2 "+name)
			if d := time.Since(began); d > 6*time.Second {
				t.Fatalf("stop took %s, want its 2 s timeout and a little", d)
			}
			if st, code := inspectField(t, name, "State"), inspectField(t, name, "ExitCode"); st != "exited" || code != "137" {
				t.Fatalf("after stop: %s (%s), want exited (137: sleep ignores SIGTERM as PID 1)", st, code)
			}
			must(t, "! systemctl is-active berth-"+id+".scope && test ! -e /run/berth/runc/"+id)
			// The next start works at the first try.
			must(t, "berthctl start "+name)
			if st := inspectField(t, name, "State"); st != "running" {
				t.Fatalf("after start: %s", st)
			}
			if tc.pause {
				must(t, "berthctl pause "+name)
			}
			must(t, "kill -9 "+monitorPID(t, id))
			began = time.Now()
			must(t, "berthctl rm -f "+name)
			if d := time.Since(began); d > 3*time.Second {
				t.Fatalf("rm -f took %s", d)
			}
			must(t, "! systemctl is-active berth-"+id+".scope && test ! -e /run/berth/runc/"+id+" && test ! -e /var/lib/berth/containers/"+id)
		})
	}
	// restart of a container whose monitor is gone.
	id := runDetached(t, "--name mk-restart -- sleep 1000")
	must(t, "kill -9 "+monitorPID(t, id))
	began := time.Now()
	must(t, "berthctl restart -t 1 mk-restart")
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("restart took %s", d)
	}
	if st := inspectField(t, "mk-restart", "State"); st != "running" {
		t.Fatalf("after restart: %s", st)
	}
	must(t, "berthctl exec mk-restart true && berthctl rm -f mk-restart")
	noLeftovers(t)
}

// TestSpoofedNotify: a datagram to notify.sock from any process but the
// run's monitor changes nothing, even with the run's id and secret (root
// can read them) and "removed": the container keeps running with its
// directories, and its real exit is recorded later.
func TestSpoofedNotify(t *testing.T) {
	fresh(t)
	id := runDetached(t, "--name victim -- sleep 1000")
	spoof := func(removed bool) {
		must(t, fmt.Sprintf(`python3 - <<'EOF'
import json, socket
rec = json.load(open("/var/lib/berth/containers/%s/container.json"))
run = rec["run"]
msg = {"version": 2, "id": rec["id"], "run": run["run_id"], "secret": run["secret"], "exit_code": 42,
       "finished_at": "2026-01-01T00:00:00Z", "removed": %s}
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(json.dumps(msg).encode(), "/run/berth/notify.sock")
EOF`, id, map[bool]string{false: "False", true: "True"}[removed]))
	}
	spoof(false)
	spoof(true)
	time.Sleep(500 * time.Millisecond)
	if st := inspectField(t, "victim", "State"); st != "running" {
		t.Fatalf("after spoofed exit notices: %s", st)
	}
	must(t, "test -e /var/lib/berth/containers/"+id+"/container.json && berthctl exec victim true")
	must(t, "berthctl stop -t 1 victim")
	if code := inspectField(t, "victim", "ExitCode"); code != "137" {
		t.Fatalf("exit code %s, want the real one (137)", code)
	}
	must(t, "berthctl rm victim")
}

// TestStartCallerGone: a start whose caller has left while the start
// waited (here, for a scope of the container's name to go) launches
// nothing afterwards.
func TestStartCallerGone(t *testing.T) {
	fresh(t)
	id := must(t, "berthctl create --name orphan --rootfs "+rootfs+" -- sleep 1000")
	must(t, "systemd-run --scope --unit berth-"+id+".scope --slice berth.slice sleep 1000 >/dev/null 2>&1 &")
	eventually(t, 10*time.Second, "systemctl is-active berth-"+id+".scope")
	// The caller gives up (killed) while berthd waits for that scope.
	sh(t, "timeout -s KILL 1 berthctl start orphan")
	must(t, "systemctl stop berth-"+id+".scope")
	time.Sleep(2 * time.Second)
	if st := inspectField(t, "orphan", "State"); st != "created" {
		t.Fatalf("after the caller left: %s, want created (nothing launched)", st)
	}
	must(t, "! systemctl is-active berth-"+id+".scope && test ! -e /run/berth/runc/"+id)
	must(t, "berthctl start orphan && berthctl rm -f orphan")
	noLeftovers(t)
}

// TestKillCampaign: workers create, start, stop and remove containers
// while berthd is killed (kill -9) at random moments, some within the
// first 100 ms of a start. Afterwards every container is running and
// stoppable, exited, or created with nothing running, and removing
// everything leaves nothing behind.
func TestKillCampaign(t *testing.T) {
	fresh(t)
	must(t, `cat > /tmp/worker.sh <<'EOF'
#!/bin/bash
# worker N: lifecycles until /tmp/campaign-end exists.
n=$1 i=0
b() { timeout 10 berthctl "$@" >/dev/null 2>&1; }
while [ ! -e /tmp/campaign-end ]; do
	i=$((i + 1)); name=w$n-$i
	case $((i % 3)) in
	0) b run -d --name $name --rootfs /srv/rootfs -- sleep 1000; b stop -t 1 $name; b rm $name ;;
	1) b create --name $name --rootfs /srv/rootfs -- sleep 1000; b start $name; b rm -f $name ;;
	2) b run -d --name $name --rootfs /srv/rootfs -- sleep 1000; b restart -t 0 $name ;;
	esac
done
EOF
cat > /tmp/killer.sh <<'EOF'
#!/bin/bash
# kills berthd at random moments for $1 seconds; every third time within
# 100 ms of a start of its own.
end=$(( $(date +%s) + $1 )) k=0
while [ $(date +%s) -lt $end ]; do
	k=$((k + 1))
	if [ $((k % 3)) = 0 ]; then
		timeout 10 berthctl run -d --name k$k --rootfs /srv/rootfs -- sleep 1000 >/dev/null 2>&1 &
		sleep 0.0$((RANDOM % 10))
	else
		sleep 0.$((RANDOM % 6))$((RANDOM % 10))
	fi
	pid=$(systemctl show -p MainPID --value berthd)
	[ "$pid" != 0 ] && kill -9 $pid && echo killed
done
wait
touch /tmp/campaign-end
EOF
chmod +x /tmp/worker.sh /tmp/killer.sh; rm -f /tmp/campaign-end`)
	kills := must(t, `for n in 1 2 3; do /tmp/worker.sh $n & done; /tmp/killer.sh 8 | grep -c killed; wait`)
	t.Logf("berthd killed %s times", kills)
	// berthd settles what it found (in the background after activation).
	ids := strings.Fields(must(t, "berthctl ps -a -q --no-trunc"))
	if len(ids) == 0 {
		t.Fatal("no container survived the campaign: it tested nothing")
	}
	check := `for id in $(berthctl ps -a -q --no-trunc); do
	st=$(berthctl inspect -f '{{.State.Status}}' $id) || exit 1
	case $st in
	running) systemctl is-active -q berth-$id.scope || { echo "$id running without a scope"; exit 1; } ;;
	exited|created) if systemctl is-active -q berth-$id.scope || [ -e /run/berth/runc/$id ]; then echo "$id $st with a live scope or runtime state"; exit 1; fi ;;
	*) echo "$id $st"; exit 1 ;;
	esac
done`
	if _, _, code := sh(nil, "for i in $(seq 200); do ( "+check+" ) >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		sh(t, `for u in $(systemctl list-units --plain --no-legend 'berth-*.scope' | cut -d' ' -f1); do systemctl status --no-pager $u; cg=$(systemctl show -p ControlGroup --value $u); for p in $(cat /sys/fs/cgroup$cg/*/cgroup.procs /sys/fs/cgroup$cg/cgroup.procs 2>/dev/null); do echo "pid $p: $(cat /proc/$p/status | grep -E '^(State|Name)' | tr '\n' ' ') $(cat /proc/$p/wchan)"; cat /proc/$p/stack 2>/dev/null | head -5; done; cat /sys/fs/cgroup$cg/*/cgroup.freeze /sys/fs/cgroup$cg/*/cgroup.events 2>/dev/null; done`)
		sh(t, check)
		t.Fatal("containers not settled within 20 s")
	}
	// Every running one stops.
	must(t, `berthctl ps -q --no-trunc | xargs -r -P 8 -n 1 berthctl stop -t 1 >/dev/null && [ -z "$(berthctl ps -q)" ]`)
	must(t, "berthctl ps -a -q --no-trunc | xargs -r berthctl rm -f >/dev/null")
	if out := must(t, "berthctl ps -a -q"); out != "" {
		t.Fatalf("left after rm -f of everything: %s", out)
	}
	noLeftovers(t)
}

// TestActivationKilled: a call queued for berthd's activation while
// berthd is killed in its start (dbus-daemon would hold it until its
// 25 s service_start_timeout) succeeds soon: berthctl sees the start end
// without berthd on the bus and starts berthd again through its socket,
// which then gets the call.
func TestActivationKilled(t *testing.T) {
	fresh(t)
	runDetached(t, "--name act -- sleep 1000")
	// dbus-daemon's own service_start_timeout (25 s) stays as it is: the
	// call must not wait for it.
	must(t, `mkdir -p /run/systemd/system/berthd.service.d
cat > /run/systemd/system/berthd.service.d/slow.conf <<'EOF'
[Service]
ExecStart=
ExecStart=/bin/sh -c 'touch /run/berth-activating; sleep 1; exec /usr/bin/berthd'
EOF
systemctl daemon-reload && systemctl stop berthd.service && rm -f /run/berth-activating`)
	t.Cleanup(func() {
		sh(t, "rm -f /run/systemd/system/berthd.service.d/slow.conf /run/berth-activating; systemctl daemon-reload")
	})
	began := time.Now()
	out := must(t, `(berthctl ps --format '{{.Names}}' >/tmp/act.out 2>&1; echo $? >/tmp/act.rc) &
for i in $(seq 100); do [ -e /run/berth-activating ] && break; sleep 0.05; done
kill -9 $(systemctl show -p MainPID --value berthd) && rm /run/berth-activating
wait; cat /tmp/act.rc /tmp/act.out`)
	took := time.Since(began)
	t.Logf("ps took %s", took)
	if out != "0\nact" {
		t.Fatalf("berthctl ps while its activation was killed: %q, want exit 0 and the container", out)
	}
	if took > 15*time.Second {
		t.Fatalf("berthctl ps waited %s: it sat out dbus-daemon's 25 s activation timeout", took)
	}
	must(t, "berthctl rm -f act")
}

// TestMonitorKilledTTYHangup: a TTY shell dies of its terminal's hang-up
// when its monitor is killed, and its scope goes with it; a stop in that
// moment records the run's end at once (255: its status went with the
// monitor) instead of sending the stop signal to nothing and waiting out
// the stop timeout, and rm -f works at once.
func TestMonitorKilledTTYHangup(t *testing.T) {
	fresh(t)
	for _, verb := range []string{"stop -t 10", "rm -f"} {
		id := runDetached(t, "--name hup -t -- sh")
		must(t, "kill -9 "+monitorPID(t, id)+"; sleep 0.1")
		began := time.Now()
		must(t, "berthctl "+verb+" hup")
		if d := time.Since(began); d > 5*time.Second {
			t.Fatalf("%s took %s with the payload already gone", verb, d)
		}
		if verb == "stop -t 10" {
			if code := inspectField(t, "hup", "ExitCode"); code != "255" {
				t.Fatalf("exit code %s, want 255 (unknown)", code)
			}
			must(t, "berthctl rm hup")
		}
		must(t, "! systemctl is-active berth-"+id+".scope && test ! -e /run/berth/runc/"+id)
	}
}
