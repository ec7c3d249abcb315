//go:build e2e

package tests

import (
	"testing"
	"time"
)

// TestEngineAPIStreamsHoldIdle: an open stream of the Engine API (logs -f,
// attach, exec, wait) of a container that prints nothing keeps berthd from
// exiting idle, however long it stays quiet; a client killed meanwhile
// frees it, and berthd exits idle again.
func TestEngineAPIStreamsHoldIdle(t *testing.T) {
	fresh(t)
	config(t, `idle-timeout = "2s"`)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	docker(t, "run -d --name quiet busybox sleep 1000")
	// Without a client berthd goes; the payload runs on under its monitor.
	eventually(t, 15*time.Second, "! systemctl is-active -q berthd.service")
	for _, c := range []struct{ name, args string }{
		{"logs -f", "logs -f quiet"},
		{"attach", "attach --no-stdin quiet"},
		{"exec", "exec quiet sleep 1000"},
		{"wait", "wait quiet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			must(t, dockerEnv+"(exec docker "+c.args+" </dev/null >/dev/null 2>&1 & echo $! >/tmp/client.pid)")
			eventually(t, 10*time.Second, "systemctl is-active -q berthd.service")
			time.Sleep(6 * time.Second) // three idle timeouts
			if _, _, code := sh(t, "systemctl is-active -q berthd.service && kill -0 $(cat /tmp/client.pid)"); code != 0 {
				t.Fatalf("berthd exited idle under an open docker %s (or the client ended)", c.args)
			}
			must(t, "kill -KILL $(cat /tmp/client.pid)")
			eventually(t, 15*time.Second, "! systemctl is-active -q berthd.service")
		})
	}
	if st := docker(t, "inspect --format '{{.State.Status}}' quiet"); st != "running" {
		t.Errorf("the container is %s after its clients went", st)
	}
	docker(t, "rm -f quiet")
}
