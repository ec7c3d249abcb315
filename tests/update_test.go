//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// TestUpdate: berthctl update and docker update change a running
// container's limits on its scope at once (unit properties, so they
// survive a daemon-reload), record them for the next start, and refuse
// bad values and limits berth does not set, changing nothing.
func TestUpdate(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	id := must(t, "berthctl run -d --name lim busybox sleep 1000")
	scope := "berth-" + id + ".scope"
	must(t, "berthctl update -m 64m --cpus 0.5 --pids-limit 50 lim")
	props := func() string {
		return must(t, "systemctl show -p MemoryMax -p CPUQuotaPerSecUSec -p TasksMax "+scope+" | sort | tr '\\n' ' '")
	}
	if got := props(); got != "CPUQuotaPerSecUSec=500ms MemoryMax=67108864 TasksMax=50" {
		t.Errorf("scope after berthctl update: %q", got)
	}
	must(t, "systemctl daemon-reload")
	// (This machine's cgroup v2 tree has no controllers, so the
	// properties are what can be checked here.)
	if got := props(); got != "CPUQuotaPerSecUSec=500ms MemoryMax=67108864 TasksMax=50" {
		t.Errorf("scope after daemon-reload: %q", got)
	}
	if got := must(t, "berthctl inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' lim"); got != "67108864 500000000 50" {
		t.Errorf("inspect after update: %q", got)
	}
	docker(t, "update --memory 128m --pids-limit -1 lim")
	if got := props(); got != "CPUQuotaPerSecUSec=500ms MemoryMax=134217728 TasksMax=infinity" {
		t.Errorf("scope after docker update: %q", got)
	}
	_, errOut, code := sh(t, "berthctl update -m 1k lim")
	if code == 0 || !strings.Contains(errOut, "memory") {
		t.Errorf("update -m 1k: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker update --cpu-quota 5000 lim")
	if code == 0 || !strings.Contains(errOut, "CPUQuota") {
		t.Errorf("docker update --cpu-quota: exit %d, %q", code, errOut)
	}
	if got := props(); got != "CPUQuotaPerSecUSec=500ms MemoryMax=134217728 TasksMax=infinity" {
		t.Errorf("refused updates changed the scope: %q", got)
	}
	// The next start has the recorded limits.
	must(t, "berthctl restart -t 1 lim")
	if got := props(); got != "CPUQuotaPerSecUSec=500ms MemoryMax=134217728 TasksMax=infinity" {
		t.Errorf("scope after restart: %q", got)
	}
	_, errOut, code = sh(t, "berthctl update -m 64m nosuch")
	if code == 0 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("update of a missing container: exit %d, %q", code, errOut)
	}
	must(t, "berthctl rm -f lim")
}
