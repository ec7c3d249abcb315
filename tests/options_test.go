//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// capEff is the payload's effective capability set, from /proc.
func capEff(t *testing.T, args string) string {
	t.Helper()
	return must(t, "berthctl run --rm "+args+" grep CapEff /proc/self/status | cut -f2")
}

// TestCapabilities: --cap-drop/--cap-add as docker's, and --privileged
// with every capability berthd holds, the host's devices and no seccomp.
func TestCapabilities(t *testing.T) {
	fresh(t)
	r := "--rootfs " + rootfs + " --"
	if got := capEff(t, r); got != "00000000a80425fb" {
		t.Fatalf("default CapEff %s, want docker's 00000000a80425fb", got)
	}
	// CAP_NET_BIND_SERVICE is bit 10.
	if got := capEff(t, "--cap-drop ALL --cap-add NET_BIND_SERVICE "+r); got != "0000000000000400" {
		t.Fatalf("--cap-drop ALL --cap-add NET_BIND_SERVICE: CapEff %s", got)
	}
	if got := capEff(t, "--cap-drop chown --cap-drop CAP_KILL "+r); got != "00000000a80425da" {
		t.Fatalf("--cap-drop chown,CAP_KILL: CapEff %s", got)
	}
	// exec, also as another user, keeps the container's capabilities.
	runDetached(t, "--name nocaps --cap-drop ALL -- sleep 1000")
	for _, u := range []string{"", "-u root ", "-u user "} {
		if got := must(t, "berthctl exec "+u+"nocaps grep CapBnd /proc/self/status | cut -f2"); got != "0000000000000000" {
			t.Fatalf("exec %sinto a --cap-drop ALL container: CapBnd %s", u, got)
		}
	}
	// Privileged: the bounding set berthd has (systemd's, PID 1 here).
	held := must(t, "grep CapBnd /proc/1/status | cut -f2")
	if got := capEff(t, "--privileged "+r); got != held {
		t.Fatalf("--privileged: CapEff %s, want berthd's bounding set %s", got, held)
	}
	if got := must(t, "berthctl run --rm --privileged "+r+" grep Seccomp: /proc/self/status | cut -f2"); got != "0" {
		t.Fatalf("--privileged: seccomp mode %s, want 0", got)
	}
	if got := must(t, "berthctl run --rm "+r+" grep Seccomp: /proc/self/status | cut -f2"); got != "2" {
		t.Fatalf("default: seccomp mode %s, want 2 (filter)", got)
	}
	// Every character device of the host's /dev shows up in a privileged
	// container, and the plain one lacks some of them.
	hostDevs := must(t, "find /dev -path /dev/pts -prune -o -type c ! -name console ! -name ptmx ! -name 'tty*' -print | sort | tr '\\n' ' '")
	check := "for d in " + hostDevs + "; do test -c $d || echo missing $d; done"
	if out := must(t, "berthctl run --rm --privileged "+r+" sh -c '"+check+"'"); out != "" {
		t.Fatalf("--privileged lacks host devices: %s", out)
	}
	if out := must(t, "berthctl run --rm "+r+" sh -c '"+check+"'"); out == "" {
		t.Fatalf("a plain container has every host device (%s): the privileged check proves nothing", hostDevs)
	}
	// --device: a host device at another path, with its cgroup rule.
	if out := must(t, "berthctl run --rm --device /dev/null:/dev/mynull:rw "+r+" sh -c 'test -c /dev/mynull && echo ok > /dev/mynull && echo written'"); out != "written" {
		t.Fatalf("--device: %q", out)
	}
}

// TestReadOnlyRootfs: --read-only refuses writes to the root file system,
// and a tmpfs mounted over it takes them.
func TestReadOnlyRootfs(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	_, errOut, code := sh(t, "berthctl run --rm --read-only busybox touch /new-file")
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Fatalf("--read-only: exit %d, %q", code, errOut)
	}
	must(t, "berthctl run --rm busybox touch /new-file")
	if got := must(t, "berthctl run --rm --read-only busybox sh -c 'echo x > /dev/shm/f && cat /dev/shm/f'"); got != "x" {
		t.Fatalf("/dev/shm under --read-only: %q", got)
	}
	// With a tmpfs at /tmp the payload writes there only.
	if got := must(t, "berthctl run --rm --read-only --tmpfs /tmp busybox sh -c 'echo y > /tmp/f && cat /tmp/f; touch /etc/f 2>&1; true'"); got != "y\ntouch: /etc/f: Read-only file system" {
		t.Fatalf("--read-only --tmpfs /tmp: %q", got)
	}
}

// TestInit: with --init, PID 1 is the init (Debian's tini), orphans are
// reaped, and stop still delivers the stop signal to the payload.
func TestInit(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	zombies := "for s in /proc/[0-9]*/status; do grep -q \"^State:.*Z\" $s && echo zombie; done; true"
	// An orphan whose new parent (PID 1) never waits: a zombie without init.
	orphan := "sh -c '(sleep 0.2 &); exec sleep 1000'"
	must(t, "berthctl run -d --name bare busybox "+orphan)
	must(t, "berthctl run -d --init --name inited busybox "+orphan)
	if comm := must(t, "berthctl exec inited cat /proc/1/comm"); comm != "docker-init" {
		t.Fatalf("PID 1 is %q, want docker-init", comm)
	}
	if args := must(t, "tr '\\0' ' ' < /proc/$(berthctl inspect -f '{{.State.Pid}}' inited)/cmdline"); !strings.HasPrefix(args, "/sbin/docker-init -- sh -c") {
		t.Fatalf("PID 1 runs %q", args)
	}
	eventually(t, 5*time.Second, "berthctl exec bare sh -c '"+zombies+"' | grep -q zombie")
	if z := must(t, "sleep 0.5; berthctl exec inited sh -c '"+zombies+"'"); z != "" {
		t.Fatalf("zombies with --init: %q", z)
	}
	if out := must(t, "berthctl exec inited sh -c 'touch /sbin/docker-init 2>&1 || true'"); !strings.Contains(out, "Read-only") {
		t.Fatalf("the init is writable in the container: %q", out)
	}
	must(t, "berthctl rm -f bare inited")
	// The stop signal reaches the payload through the init.
	must(t, `berthctl run -d --init --name trapper busybox sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done'`)
	must(t, "sleep 0.3; berthctl stop -t 20 trapper")
	if code := must(t, "berthctl inspect -f '{{.State.ExitCode}}' trapper"); code != "42" {
		t.Fatalf("exit code %s after stop, want 42 from the payload's TERM trap", code)
	}
	must(t, `berthctl run -d --init --stop-signal USR1 --name usr busybox sh -c 'trap "exit 7" USR1; while :; do sleep 0.1; done'`)
	must(t, "sleep 0.3; berthctl stop -t 20 usr")
	if code := must(t, "berthctl inspect -f '{{.State.ExitCode}}' usr"); code != "7" {
		t.Fatalf("exit code %s after stop with USR1, want 7", code)
	}
}

// TestLabels: -l and --label-file reach Config.Labels, and ps filters on
// them as docker's.
func TestLabels(t *testing.T) {
	fresh(t)
	must(t, "printf '# labels\\ntier=from-file\\nowner=ops\\n' > /tmp/labels")
	front := runDetached(t, "--name front --label-file /tmp/labels -l tier=front -l solo -- sleep 1000")
	back := runDetached(t, "--name back -l tier=back -- sleep 1000")
	runDetached(t, "--name none -- sleep 1000")
	if got := must(t, "berthctl inspect -f '{{json .Config.Labels}}' front"); got != `{"owner":"ops","solo":"","tier":"front"}` {
		t.Fatalf("front's labels: %s", got)
	}
	if got := must(t, "berthctl inspect -f '{{json .Config.Labels}}' none"); got != "{}" {
		t.Fatalf("no labels: %s, want {}", got)
	}
	for _, tc := range []struct{ filters, want string }{
		{"-f label=tier", front + " " + back},
		{"-f label=tier=back", back},
		{"-f label=solo", front},
		{"-f label=tier -f label=owner=ops", front},
		{"-f label=tier=nothing", ""},
	} {
		got := strings.Join(strings.Fields(must(t, "berthctl ps -q --no-trunc "+tc.filters+" | sort")), " ")
		want := strings.Join(strings.Fields(must(t, "echo "+tc.want+" | tr ' ' '\\n' | sort")), " ")
		if got != want {
			t.Fatalf("ps %s: %q, want %q", tc.filters, got, want)
		}
	}
	if got := must(t, "berthctl ps --format '{{.Names}} {{.Labels}}' -f name=front"); got != "front owner=ops,solo=,tier=front" {
		t.Fatalf("ps .Labels: %q", got)
	}
}

// TestRunOptions: entrypoint, ulimit, sysctl, group-add, shm-size,
// namespaces, oom score, security options, as the payload sees them, and
// inspect's HostConfig.
func TestRunOptions(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/entry-docker.tar.gz")
	r := " --rootfs " + rootfs + " -- "
	for _, tc := range []struct{ name, cmd, want string }{
		{"entrypoint", "berthctl run --rm --entrypoint /bin/echo entry:v1 given", "given"},
		{"entrypoint drops the image's cmd", "berthctl run --rm --entrypoint /bin/echo entry:v1 | wc -c", "1"},
		{"entrypoint cleared", "berthctl run --rm --entrypoint '' entry:v1 echo cleared", "cleared"},
		{"ulimit", "berthctl run --rm --ulimit nofile=1000:2000" + r + "sh -c 'ulimit -n; ulimit -Hn'", "1000\n2000"},
		{"net sysctl", "berthctl run --rm --sysctl net.ipv4.ip_forward=1" + r + "cat /proc/sys/net/ipv4/ip_forward", "1"},
		{"ipc sysctl", "berthctl run --rm --sysctl kernel.shmmax=123456789" + r + "cat /proc/sys/kernel/shmmax", "123456789"},
		{"group-add", "berthctl run --rm -u user --group-add nogroup --group-add 4242" + r + "id -G | tr ' ' '\\n' | sort -n | xargs", "1000 4242 65534"},
		{"shm-size", "berthctl run --rm --shm-size 2m" + r + "df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2", "2048"},
		{"pid host", "berthctl run --rm --pid host" + r + "cat /proc/1/comm", "systemd"},
		{"ipc host", "berthctl run --rm --ipc host" + r + "readlink /proc/self/ns/ipc", must(t, "readlink /proc/1/ns/ipc")},
		{"ipc private", "berthctl run --rm --ipc shareable" + r + "readlink /proc/self/ns/ipc | grep -vx " + must(t, "readlink /proc/1/ns/ipc"), "ipc:"},
		{"oom-score-adj", "berthctl run --rm --oom-score-adj 500" + r + "cat /proc/self/oom_score_adj", "500"},
		{"no-new-privileges", "berthctl run --rm --security-opt no-new-privileges" + r + "grep NoNewPrivs /proc/self/status | cut -f2", "1"},
		{"seccomp unconfined", "berthctl run --rm --security-opt seccomp=unconfined" + r + "grep Seccomp: /proc/self/status | cut -f2", "0"},
		// The name files need a root of berth's own (an image's), or one
		// that has them.
		{"add-host", "berthctl run --rm --add-host db:10.1.2.3 --add-host v6=fd00::7 --entrypoint tail entry:v1 -2 /etc/hosts", "10.1.2.3\tdb\nfd00::7\tv6"},
		{"dns", "berthctl run --rm --dns 10.0.0.53 --dns 10.0.0.54 --dns-search example.test --dns-option ndots:3 --entrypoint '' entry:v1 grep -v '^#' /etc/resolv.conf | sort",
			"nameserver 10.0.0.53\nnameserver 10.0.0.54\noptions ndots:3\nsearch example.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := must(t, tc.cmd); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	// A seccomp profile from a file (docker's JSON): mkdir is refused.
	must(t, `cat > /tmp/nomkdir.json <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
EOF`)
	_, errOut, code := sh(t, "berthctl run --rm --security-opt seccomp=/tmp/nomkdir.json"+r+"mkdir /dev/shm/d")
	if code == 0 || !strings.Contains(errOut, "Operation not permitted") {
		t.Fatalf("seccomp profile: exit %d %q", code, errOut)
	}
	must(t, "berthctl run --rm"+r+"mkdir /dev/shm/d")
	// inspect: docker's shapes, empty collections not null.
	must(t, "berthctl create --name plain"+r+"true")
	want := `[] [] [] [] {} [] false false 67108864 private`
	if got := must(t, "berthctl inspect -f '{{json .HostConfig.CapAdd}} {{json .HostConfig.Devices}} {{json .HostConfig.Ulimits}} {{json .HostConfig.ExtraHosts}} {{json .HostConfig.Sysctls}} {{json .Config.Entrypoint}} {{.HostConfig.Privileged}} {{.HostConfig.Init}} {{json .HostConfig.ShmSize}} {{.HostConfig.IpcMode}}' plain"); got != want {
		t.Fatalf("inspect of a plain container:\n%s\nwant\n%s", got, want)
	}
	must(t, "berthctl create --name full --cap-add NET_ADMIN --cap-drop MKNOD --device /dev/null:/dev/n --ulimit nofile=10:20 "+
		"--sysctl net.ipv4.ip_forward=1 --read-only --init --pid host --ipc shareable --oom-score-adj 10 --shm-size 1m "+
		"--security-opt no-new-privileges --group-add 7 --entrypoint /bin/echo entry:v1 x")
	want = `["NET_ADMIN"] ["MKNOD"] [{"CgroupPermissions":"rwm","PathInContainer":"/dev/n","PathOnHost":"/dev/null"}] [{"Hard":20,"Name":"nofile","Soft":10}] {"net.ipv4.ip_forward":"1"} true true host shareable 10 1048576 ["no-new-privileges"] ["7"] ["/bin/echo"]`
	if got := must(t, "berthctl inspect -f '{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .HostConfig.Devices}} {{json .HostConfig.Ulimits}} {{json .HostConfig.Sysctls}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Init}} {{.HostConfig.PidMode}} {{.HostConfig.IpcMode}} {{json .HostConfig.OomScoreAdj}} {{json .HostConfig.ShmSize}} {{json .HostConfig.SecurityOpt}} {{json .HostConfig.GroupAdd}} {{json .Config.Entrypoint}}' full"); got != want {
		t.Fatalf("inspect:\n%s\nwant\n%s", got, want)
	}
}

// TestRunOptionsBadInput: each bad value is refused at create with a
// message naming it and exit code 125, through berthctl and D-Bus, and
// leaves no container record behind.
func TestRunOptionsBadInput(t *testing.T) {
	fresh(t)
	runDetached(t, "--name keep -- sleep 1000")
	before := must(t, "berthctl ps -aq | sort; ls /var/lib/berth/containers | wc -l")
	r := " --rootfs " + rootfs + " -- true"
	const call = "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager CreateContainer a{sv} 2 rootfs s /srv/rootfs "
	for _, tc := range []struct{ name, cmd, want string }{
		{"unknown capability", "berthctl run --cap-add NOPE" + r, `cap-add "NOPE": unknown capability`},
		{"unknown capability dropped", "berthctl run --cap-drop CAP_NOPE" + r, `cap-drop "CAP_NOPE": unknown capability`},
		{"capability berthd lacks", "berthctl run --cap-add SYS_RESOURCE" + r, "CAP_SYS_RESOURCE: berthd does not hold"},
		{"device not a device", "berthctl run --device /etc/passwd" + r, `device "/etc/passwd": not a device node`},
		{"device missing", "berthctl run --device /dev/nonexistent" + r, `device "/dev/nonexistent": no such file`},
		{"device not a device (D-Bus)", call + "devices 'a(sss)' 1 /etc/passwd /dev/p rwm", "not a device node"},
		{"ulimit above the hard limit", "berthctl run --ulimit nofile=1024:" + must(t, "echo $(( $(ulimit -Hn) + 1 ))") + r, "above berthd's own hard limit"},
		{"ulimit above the hard limit (D-Bus)", call + "ulimits 'a(sxx)' 1 nofile 10 9223372036854775807", "hard limit 9223372036854775807 is above"},
		{"ulimit soft above hard", "berthctl run --ulimit nofile=2000:1000" + r, "--ulimit"},
		{"sysctl not namespaced", "berthctl run --sysctl kernel.panic=1" + r, `sysctl "kernel.panic": not a namespaced sysctl`},
		{"sysctl net with host network", "berthctl run --network host --sysctl net.ipv4.ip_forward=1" + r, "--network host"},
		{"security-opt unknown", "berthctl run --security-opt systempaths=unconfined" + r, `security-opt "systempaths=unconfined"`},
		{"security-opt apparmor", "berthctl run --security-opt apparmor=docker-default" + r, "AppArmor is not enabled"},
		{"security-opt bad seccomp file", "echo '{' > /tmp/bad.json; berthctl run --security-opt seccomp=/tmp/bad.json" + r, "seccomp"},
		{"security-opt bad seccomp profile (D-Bus)", call + `security_opt as 1 'seccomp={"defaultAction":"NOPE"}'`, `unknown defaultAction "NOPE"`},
		{"pid", "berthctl run --pid vm" + r, `pid "vm"`},
		{"ipc", "berthctl run --ipc bogus" + r, `ipc "bogus"`},
		{"oom-score-adj", "berthctl run --oom-score-adj 1001" + r, "oom-score-adj 1001"},
		{"add-host", "berthctl run --add-host nohost" + r, `add-host "nohost"`},
		{"dns", "berthctl run --dns resolver.example" + r, `dns "resolver.example"`},
		{"group-add", "berthctl run --group-add nosuchgroup" + r, "group-add"},
		{"init on a read-only root", "berthctl run --init" + r, "init: the root file system has no /sbin/docker-init"},
		{"label", "berthctl run -l =x" + r, "--label"},
		{"shm-size (D-Bus)", call + "shm_size t 0", "shm_size"},
		{"devices wrong type (D-Bus)", call + "devices as 1 /dev/null", `option "devices"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := sh(t, tc.cmd)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, message %q, want one saying %q", code, errOut, tc.want)
			}
			if strings.HasPrefix(tc.cmd, "berthctl") && code != 125 {
				t.Fatalf("exit %d, want 125", code)
			}
		})
	}
	if after := must(t, "berthctl ps -aq | sort; ls /var/lib/berth/containers | wc -l"); after != before {
		t.Fatalf("containers changed:\nbefore %s\nafter %s", before, after)
	}
}
