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

// TestCreateRefusesWhatStartWouldRefuse: options that a start (or the
// runtime) would refuse are refused at create, through berthctl and
// through D-Bus alike, with the field named, and nothing is left behind;
// unknown option keys are refused by every method that takes options.
func TestCreateRefusesWhatStartWouldRefuse(t *testing.T) {
	fresh(t)
	runDetached(t, "--name keep -- sleep 1000")
	before := must(t, "berthctl ps -aq | sort")
	create := "berthctl create --rootfs " + rootfs + " "
	const call = "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager "
	const rootfsOpt = `rootfs s /srv/rootfs`
	for _, tc := range []struct{ name, cmd, want string }{
		{"env empty name", create + "-e =foo -- true", `"=foo"`},
		{"env empty name (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` env as 1 =foo`, `env entry "=foo"`},
		{"cmd empty program", create + `-- ""`, "cmd: the program name is empty"},
		{"cmd empty program (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` cmd as 1 ""`, "cmd: the program name is empty"},
		{"hostname 100 kB", create + `--hostname "$(head -c 100000 /dev/zero | tr '\0' h)" -- true`, "hostname"},
		{"hostname invalid", create + "--hostname 'a b' -- true", `hostname "a b"`},
		{"hostname with network host", create + "--network host --hostname web -- true", "conflicts with network host"},
		{"name 100 kB", create + `--name "$(head -c 100000 /dev/zero | tr '\0' n)" -- true`, "container name"},
		{"workdir relative", create + "-w tmp -- true", `workdir "tmp"`},
		{"stop signal", create + "--stop-signal SIGNOPE -- true", `signal "SIGNOPE"`},
		{"stop timeout int64 max (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` stop_timeout x 9223372036854775807`, `stop_timeout`},
		{"stop timeout uint64 max (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` stop_timeout t 18446744073709551615`, `too large`},
		{"stop timeout 1e11", create + "--stop-timeout 100000000000 -- true", "--stop-timeout 100000000000"}, // berthctl names its flag
		{"stop timeout 1e11 (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` stop_timeout x 100000000000`, `option "stop_timeout"`},
		{"cpus NaN", create + "--cpus NaN -- true", "cpus"},
		{"cpus Inf", create + "--cpus Inf -- true", "cpus"},
		{"cpus 1e300", create + "--cpus 1e300 -- true", "cpus"},
		{"cpus 1e-12", create + "--cpus 1e-12 -- true", "cpus"},
		{"cpus NaN (D-Bus)", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` cpus d nan`, "cpus"},
		{"memory below 6 MiB", create + "--memory 1m -- true", "memory"},
		{"unknown create option", call + `CreateContainer a{sv} 2 ` + rootfsOpt + ` Force b true`, `option "Force": unknown to CreateContainer`},
		{"unknown remove option", call + `RemoveContainer sa{sv} keep 1 Force b true`, `option "Force": unknown to RemoveContainer`},
		{"unknown stop option", call + `StopContainer sa{sv} keep 1 Timeout u 0`, `option "Timeout": unknown to StopContainer`},
		{"unknown kill option", call + `KillContainer ssa{sv} keep TERM 1 all b true`, `option "all": KillContainer takes no options`},
		{"unknown start option", call + `StartContainer sa{sv} keep 1 detach b true`, `unknown to StartContainer`},
		{"unknown restart option", call + `RestartContainer sa{sv} keep 1 t u 1`, `unknown to RestartContainer`},
		{"unknown attach option", call + `AttachContainer sa{sv} keep 1 logs b true`, `unknown to AttachContainer`},
		{"unknown list option", call + `ListContainers a{sv} 1 limit u 1`, `unknown to ListContainers`},
		{"unknown logs option", call + `GetContainerLogs sa{sv} keep 1 details b true`, `option "details": unknown to GetContainerLogs (known: follow, tail, since, until, timestamps)`},
		{"unknown pull option", call + `PullImage sa{sv} busybox 1 platform s arm64`, `option "platform": unknown to PullImage (known: pull_id)`},
		{"unknown exec option", call + `ExecContainer sasa{sv} keep 1 true 1 privileged b true`, `unknown to ExecContainer`},
		{"unknown image remove option", call + `RemoveImage sa{sv} busybox 1 Force b true`, `unknown to RemoveImage`},
		{"unknown prune option", call + `PruneImages a{sv} 1 all b true`, `PruneImages takes no options`},
		{"unknown list images option", call + `ListImages a{sv} 1 all b true`, `ListImages takes no options`},
		{"exec env empty name", "berthctl exec -e =x keep true", `"=x"`},
		{"exec empty program", `berthctl exec keep ""`, "cmd: the program name is empty"},
		{"stop timeout overflow", call + `StopContainer sa{sv} keep 1 timeout t 18446744073709551615`, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fails(t, tc.cmd)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not say %q", msg, tc.want)
			}
			if len(msg) > 2000 {
				t.Fatalf("message of %d bytes", len(msg))
			}
		})
	}
	if after := must(t, "berthctl ps -aq | sort"); after != before {
		t.Fatalf("containers changed: before %q after %q", before, after)
	}
	if st := inspectField(t, "keep", "State"); st != "running" {
		t.Fatalf("keep: %s", st)
	}
	if n := must(t, "systemctl list-units --all --plain --no-legend 'berth-*.scope' | grep -c running || true"); n != "1" {
		t.Fatalf("%s running scopes, want only keep's", n)
	}
}
