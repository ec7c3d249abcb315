//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// --pid and --ipc container:NAME join a running container's namespaces
// (not its /dev/shm: berth keeps no shareable one on the host yet);
// inspect records the other container's id.
func TestJoinNamespaces(t *testing.T) {
	fresh(t)
	r := " --rootfs " + rootfs + " -- "
	donor := runDetached(t, "--name donor --ipc shareable -- sleep 1000")
	pidNS := must(t, "berthctl exec donor readlink /proc/self/ns/pid")
	ipcNS := must(t, "berthctl exec donor readlink /proc/self/ns/ipc")
	out := must(t, "berthctl run --rm --pid container:donor --ipc container:donor"+r+
		"sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; ps -o args | grep -c \"^sleep 1000\"'")
	if want := pidNS + "\n" + ipcNS + "\n1"; out != want {
		t.Errorf("joined container:\n%s\nwant:\n%s", out, want)
	}
	// A container on its own namespaces differs (so the check above
	// can fail).
	if out := must(t, "berthctl run --rm"+r+"readlink /proc/self/ns/pid"); out == pidNS {
		t.Errorf("a plain container shares the donor's PID namespace %s", out)
	}
	must(t, "berthctl create --name joiner --pid container:donor"+r+"true")
	if got := must(t, "berthctl inspect -f '{{.HostConfig.PidMode}}' joiner"); got != "container:"+donor {
		t.Errorf("PidMode %q, want container:%s", got, donor)
	}
	// The donor stopped: the joiner's start is refused, naming it.
	must(t, "berthctl kill donor && berthctl wait donor")
	if msg := fails(t, "berthctl start joiner"); !strings.Contains(msg, "cannot join the PID namespace of container donor: it is not running") {
		t.Errorf("start with the donor stopped: %q", msg)
	}
	must(t, "berthctl rm -f donor joiner")
}

// What cannot be joined is refused at create, naming the option, and
// leaves no container: an unknown container, a private IPC namespace; a
// --device directory gives every device below it; --add-host
// host-gateway is refused (no container network gateway yet).
func TestJoinNamespacesBadInput(t *testing.T) {
	fresh(t)
	r := " --rootfs " + rootfs + " -- true"
	runDetached(t, "--name private -- sleep 1000")
	for _, tc := range []struct{ args, want string }{
		{"--pid container:nosuch", `pid "container:nosuch": container "nosuch": no such container`},
		{"--ipc container:nosuch", `ipc "container:nosuch": container "nosuch": no such container`},
		{"--ipc container:private", "container private has a non-shareable IPC namespace"},
		{"--pid container:", `pid "container:"`},
		{"--ipc container:private --sysctl kernel.msgmax=1", "not allowed with --ipc container:"},
		{"--add-host gw:host-gatewa", `add-host "gw:host-gatewa": "host-gatewa" is not an IP address`},
		{"--device /opt/berth-test/nodevs", "a directory without device nodes"},
	} {
		must(t, "mkdir -p /opt/berth-test/nodevs")
		if msg := fails(t, "berthctl create --name bad "+tc.args+r); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want %q", tc.args, msg, tc.want)
		}
	}
	if n := must(t, "berthctl ps -aq | wc -l"); n != "1" {
		t.Errorf("%s containers after refused creates, want 1", n)
	}
	must(t, "berthctl rm -f private")
}

// --device DIR: every device node below the directory, at the same place
// below the container path, with the rule's access.
func TestDeviceDirectory(t *testing.T) {
	fresh(t)
	must(t, "mkdir -p /opt/berth-test/devs/sub && mknod /opt/berth-test/devs/null c 1 3 && mknod /opt/berth-test/devs/sub/zero c 1 5 && touch /opt/berth-test/devs/plain")
	out := must(t, "berthctl run --rm --device /opt/berth-test/devs:/dev/mine:rw --rootfs "+rootfs+
		" -- sh -c 'test -c /dev/mine/null && test -c /dev/mine/sub/zero && test ! -e /dev/mine/plain && echo x > /dev/mine/null && head -c 4 /dev/mine/sub/zero | wc -c'")
	if out != "4" {
		t.Errorf("--device DIR: %q", out)
	}
}
