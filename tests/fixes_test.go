//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestRootfsOwnOrHostRefused: a root file system that is the host's root
// or holds berth's own state is refused at create, naming the field, and
// nothing is left behind.
func TestRootfsOwnOrHostRefused(t *testing.T) {
	fresh(t)
	for _, dir := range []string{"/", "/var/lib", "/run"} {
		_, errOut, code := sh(t, "berthctl create --name bad --rootfs "+dir+" -- true")
		if code != 125 || !strings.Contains(errOut, "rootfs ") {
			t.Fatalf("create --rootfs %s: exit %d, %q; want 125 naming rootfs", dir, code, errOut)
		}
	}
	if out := must(t, "berthctl ps -aq"); out != "" {
		t.Fatalf("refused creates left containers: %q", out)
	}
	must(t, "test ! -e /run/dev && test ! -e /run/proc")
}

// TestCreateImageAndRootfsRefused: CreateContainer takes an image or a
// root file system, not both; its unknown-option error lists the keys.
func TestCreateImageAndRootfsRefused(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	call := "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager CreateContainer a{sv} "
	errOut := fails(t, call+"3 image s busybox rootfs s "+rootfs+" cmd as 1 true")
	if !strings.Contains(errOut, `"image" and "rootfs" given together`) {
		t.Fatalf("image and rootfs: %q", errOut)
	}
	errOut = fails(t, call+"2 image s busybox stop-signal s TERM")
	if !strings.Contains(errOut, "known: ") || !strings.Contains(errOut, "stop_signal") {
		t.Fatalf("unknown option: %q, want the known keys", errOut)
	}
	if out := must(t, "berthctl ps -aq"); out != "" {
		t.Fatalf("refused creates left containers: %q", out)
	}
}

// TestExitCodeResetAtStart: a container started again shows exit code 0
// while it runs, not its previous run's (docker's State.ExitCode).
func TestExitCodeResetAtStart(t *testing.T) {
	fresh(t)
	must(t, "berthctl create --name p1 --rootfs "+rootfs+" -- sh -c 'sleep 1000'")
	must(t, "berthctl start p1 && berthctl kill p1 && berthctl wait p1")
	if got := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.ExitCode}}' p1"); got != "exited 137" {
		t.Fatalf("after kill: %q", got)
	}
	must(t, "berthctl start p1")
	if got := must(t, "berthctl inspect -f '{{.State.Status}} {{.State.ExitCode}}' p1"); got != "running 0" {
		t.Fatalf("started again: %q, want running 0", got)
	}
	must(t, "berthctl rm -f p1")
}

// TestMessagesAndWaitList: wait goes on past a missing container and exits
// 1 at the end; refusals say "an exited"; a multi-container verb names the
// container once; an invalid reference is refused before any look-up; an
// unknown completion shell fails.
func TestMessagesAndWaitList(t *testing.T) {
	fresh(t)
	must(t, "berthctl create --name w1 --rootfs "+rootfs+" -- sh -c 'exit 3' && berthctl create --name w2 --rootfs "+rootfs+" -- true")
	must(t, "berthctl start w1 && berthctl start w2")
	out, errOut, code := sh(t, "berthctl wait w1 nosuch w2")
	if code != 1 || strings.Fields(out)[0] != "3" || len(strings.Fields(out)) != 2 || strings.Fields(out)[1] != "0" {
		t.Fatalf("wait w1 nosuch w2: exit %d, printed %q, want 3 and 0, exit 1", code, out)
	}
	if want := `berthctl wait: container "nosuch": no such container`; !strings.Contains(errOut, want) {
		t.Fatalf("wait: %q, want %q", errOut, want)
	}
	if errOut := fails(t, "berthctl exec w1 true"); !strings.Contains(errOut, "cannot exec an exited container") {
		t.Fatalf("exec on an exited container: %q", errOut)
	}
	errOut = fails(t, "berthctl stop nosuch")
	if strings.Count(errOut, "nosuch") != 1 || !strings.HasPrefix(errOut, "berthctl stop: ") {
		t.Fatalf("stop nosuch: %q, want the verb and the name once", errOut)
	}
	_, errOut, code = sh(t, "berthctl run --rm localhost/x/bb@sha256:abc echo")
	if code != 125 || strings.Contains(errOut, "Unable to find") || !strings.Contains(errOut, "invalid reference format") {
		t.Fatalf("run of an invalid reference: exit %d, %q", code, errOut)
	}
	if _, _, code := sh(t, "berthctl completion nosh"); code != 125 {
		t.Fatalf("completion nosh: exit %d, want 125", code)
	}
}

// TestFlagBoundsNamedAsTyped: bounds berthd enforces are checked by
// berthctl first, so the message names the flag as typed, exits 125 and
// points at --help; docker's --pids-limit -1 and 0 mean no limit.
func TestFlagBoundsNamedAsTyped(t *testing.T) {
	fresh(t)
	for _, pl := range []string{"-1", "0"} {
		if out := must(t, "berthctl run --rm --pids-limit "+pl+" --rootfs "+rootfs+" -- echo ok"); out != "ok" {
			t.Fatalf("--pids-limit %s: %q", pl, out)
		}
	}
	runDetached(t, "--name b1 -- sleep 1000")
	for _, tc := range []struct{ cmd, verb, want string }{
		{"run --rm --stop-timeout 99999999999 --rootfs " + rootfs + " -- true", "run", "--stop-timeout 99999999999: more than"},
		{"run --rm --stop-timeout -1 --rootfs " + rootfs + " -- true", "run", "--stop-timeout -1: negative"},
		{"run --rm --cpus NaN --rootfs " + rootfs + " -- true", "run", "--cpus NaN: want a number"},
		{"create -m 1 --rootfs " + rootfs + " -- true", "create", "--memory 1: below the minimum"},
		{"stop -t -1 b1", "stop", "-t/--time -1: negative"},
		{"restart -t 99999999999 b1", "restart", "-t/--time 99999999999: more than"},
		{"logs --since 1h --until 2h b1", "logs", "--until 2h is before --since 1h"},
	} {
		_, errOut, code := sh(t, "berthctl "+tc.cmd)
		if code != 125 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "See 'berthctl "+tc.verb+" --help'") {
			t.Errorf("%s: exit %d, %q; want 125, %q and the help hint", tc.cmd, code, errOut, tc.want)
		}
	}
	if got := must(t, "berthctl inspect -f '{{.State.Status}}' b1"); got != "running" {
		t.Fatalf("b1 after refused stop/restart: %s", got)
	}
	if out := must(t, "berthctl ps -aq | wc -l"); out != "1" {
		t.Fatalf("refused creates left containers: %s", out)
	}
	must(t, "berthctl rm -f b1")
}

// TestInspectDockerTemplates: docker's everyday inspect templates read
// the values, for containers and images.
func TestInspectDockerTemplates(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	must(t, "berthctl create --name insp -e A=1 --stop-signal SIGUSR1 busybox sleep 5")
	got := must(t, `berthctl inspect -f '{{.Name}}|{{.Config.Image}}|{{.Config.Env}}|{{.Config.Cmd}}|{{.Config.StopSignal}}' insp`)
	if !strings.HasPrefix(got, "/insp|busybox|[") || !strings.Contains(got, "A=1") || !strings.HasSuffix(got, "|[sleep 5]|SIGUSR1") {
		t.Fatalf("container inspect: %q", got)
	}
	id := must(t, "berthctl image inspect -f '{{.Id}}' busybox")
	if img := must(t, "berthctl inspect -f '{{.Image}}' insp"); img != id {
		t.Fatalf("container's .Image %q, want the image id %q", img, id)
	}
	if n := must(t, "berthctl image inspect -f '{{len .RootFS.Layers}} {{.RootFS.Type}}' busybox"); n == "" || !strings.HasSuffix(n, " layers") || strings.HasPrefix(n, "0 ") {
		t.Fatalf("image inspect RootFS: %q", n)
	}
	must(t, "berthctl rm insp")
}
