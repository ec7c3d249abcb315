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
