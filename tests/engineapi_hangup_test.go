//go:build e2e

package tests

import (
	"testing"
	"time"
)

// attachScript attaches to container never over a raw socket, prints the
// answer's status line and then waits, as the docker CLI does before it
// starts a foreground run.
const attachScript = `import socket, time
s = socket.socket(socket.AF_UNIX)
s.connect("/run/berth/berth.sock")
s.sendall(b"POST /v1.51/containers/never/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode(), flush=True)
time.sleep(1000)
`

// TestEngineAPIClientGoneFreesBerthd: a client that is killed while its
// attach waits for a start that never comes, or while it is attached to a
// container that prints nothing, holds nothing: berthd still exits idle.
func TestEngineAPIClientGoneFreesBerthd(t *testing.T) {
	fresh(t)
	config(t, `idle-timeout = "2s"`)
	must(t, "berthctl load -i /srv/images/busybox-docker.tar")
	must(t, "berthctl create --name never busybox sleep 1000")
	must(t, "cat > /tmp/attach.py <<'PY'\n"+attachScript+"PY\n(exec python3 /tmp/attach.py >/tmp/attach.out 2>&1 &)")
	eventually(t, 5*time.Second, "grep -q '101 UPGRADED' /tmp/attach.out")
	time.Sleep(3 * time.Second)
	must(t, "systemctl is-active -q berthd.service") // the attach is work in flight
	must(t, "pkill -KILL -f /tmp/attach.py")
	eventually(t, 15*time.Second, "! systemctl is-active -q berthd.service")

	// A foreground run of a silent payload; the client is killed.
	must(t, dockerEnv+"(exec docker run --name silent busybox sleep 1000 </dev/null >/dev/null 2>&1 &) ; sleep 2; pkill -KILL -f 'docker run --name silent'")
	eventually(t, 5*time.Second, "berthctl inspect -f '{{.State.Status}}' silent | grep -qx running")
	eventually(t, 15*time.Second, "! systemctl is-active -q berthd.service")
	must(t, "berthctl rm -f silent never")
}
