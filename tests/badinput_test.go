//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestBadInput: each mistake gets a clear message and a non-zero exit, and
// leaves neither a half-made container nor a scope.
func TestBadInput(t *testing.T) {
	fresh(t)
	config(t, "[runtimes.vanishing]\npath = \"/opt/rt/vanishing-runtime\"")
	must(t, "mkdir -p /opt/rt && cp $(command -v runc) /opt/rt/vanishing-runtime")
	runDetached(t, "--name taken -- sleep 1000")
	must(t, "berthctl create --name exited1 --rootfs "+rootfs+" -- true && berthctl start exited1 && berthctl wait exited1")
	must(t, "rm /opt/rt/vanishing-runtime")
	before := must(t, "berthctl ps -aq | sort")
	for _, tc := range []struct{ name, cmd, want string }{
		{"missing rootfs", "berthctl run --rootfs /nonexistent -- true", `root file system "/nonexistent": not a directory`},
		{"name clash", "berthctl run --name taken --rootfs " + rootfs + " -- true", `container name "taken" is already in use`},
		{"invalid name", "berthctl run --name '-bad name' --rootfs " + rootfs + " -- true", `container name "-bad name": must match`},
		{"unknown container", "berthctl stop nosuchthing", `container "nosuchthing"`},
		{"remove running", "berthctl rm taken", "cannot remove a running container"},
		{"unknown signal", "berthctl kill -s NOPE taken", `signal "NOPE": unknown signal`},
		{"unknown runtime", "berthctl run --runtime nope --rootfs " + rootfs + " -- true", `runtime "nope" is not in the configuration`},
		{"missing runtime binary", "berthctl run --runtime vanishing --rootfs " + rootfs + " -- true", "vanishing-runtime is gone"},
		{"missing executable", "berthctl run --rootfs " + rootfs + " -- /no/such/cmd", "/no/such/cmd"},
		{"no bus", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent berthctl ps", "cannot reach the system bus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fails(t, tc.cmd)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not say %q", msg, tc.want)
			}
		})
	}
	if after := must(t, "berthctl ps -aq | sort"); after != before {
		t.Fatalf("containers changed: before %q after %q", before, after)
	}
	if n := must(t, "systemctl list-units --all --plain --no-legend 'berth-*.scope' | grep -c running || true"); n != "1" {
		t.Fatalf("%s running scopes, want only taken's", n)
	}
	// Stopping an exited container is a no-op that succeeds.
	must(t, "berthctl stop exited1")
	if st := inspectField(t, "exited1", "State"); st != "exited" {
		t.Fatalf("exited1: %s", st)
	}
}
