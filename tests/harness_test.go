//go:build e2e

package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sandboxPID is PID 1 (systemd) of the sandbox, as seen from the host.
var sandboxPID string

const rootfs = "/srv/rootfs"

func TestMain(m *testing.M) {
	os.Exit(boot(m))
}

func boot(m *testing.M) int {
	stage := os.Getenv("BERTH_STAGE")
	if stage == "" || os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: run as root through `make e2e` (BERTH_STAGE names the staged install)")
		return 1
	}
	cache, _ := filepath.Abs(".cache")
	rfs := filepath.Join(cache, "rootfs")
	if out, err := exec.Command("./mkrootfs.sh", rfs).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: mkrootfs: %v\n%s", err, out)
		return 1
	}
	imgs := filepath.Join(cache, "images")
	if err := makeImages(imgs, rfs); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: test images: %v\n", err)
		return 1
	}
	name := fmt.Sprintf("berth-e2e-%d", os.Getpid())
	script := fmt.Sprintf(`. ./sandbox.sh && sandbox_boot %s %q %q %q %q && echo $SANDBOX_PID $SANDBOX_CGROUP`, name, stage, rfs, filepath.Join(cache, "sandbox.log"), imgs)
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: boot: %v\n", err)
		return 1
	}
	booted := strings.Fields(string(out))
	if len(booted) != 2 {
		fmt.Fprintf(os.Stderr, "e2e: boot printed %q, want PID and cgroup\n", out)
		return 1
	}
	sandboxPID = booted[0]
	defer exec.Command("bash", "-c", ". ./sandbox.sh && SANDBOX_PID="+sandboxPID+" SANDBOX_CGROUP="+booted[1]+" && sandbox_poweroff").Run()
	if _, _, code := sh(nil, "systemctl enable berthd.socket && systemctl start berthd.socket && getent group berth"); code != 0 {
		fmt.Fprintln(os.Stderr, "e2e: berthd.socket did not start or group berth is missing")
		return 1
	}
	return m.Run()
}

// sh runs a bash script inside the sandbox.
func sh(t *testing.T, script string) (stdout, stderr string, code int) {
	if t != nil {
		t.Helper()
	}
	cmd := exec.Command("nsenter", "-t", sandboxPID, "-a", "bash", "-c", script)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	began := time.Now()
	err := cmd.Run()
	took := time.Since(began).Round(time.Millisecond)
	code = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if t != nil {
			t.Fatalf("nsenter: %v", err)
		}
	}
	if t != nil {
		t.Logf("$ %s\n%s%s(exit %d, %s)", script, o.String(), e.String(), code, took)
	}
	return o.String(), e.String(), code
}

// must runs a script that must succeed and returns its trimmed stdout.
func must(t *testing.T, script string) string {
	t.Helper()
	out, errOut, code := sh(t, script)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", script, code, errOut)
	}
	return strings.TrimSpace(out)
}

// fails runs a script that must fail; it returns stderr.
func fails(t *testing.T, script string) string {
	t.Helper()
	_, errOut, code := sh(t, script)
	if code == 0 {
		t.Fatalf("%s: succeeded, want a failure", script)
	}
	return errOut
}

// eventually retries a script until it succeeds.
func eventually(t *testing.T, timeout time.Duration, script string) string {
	t.Helper()
	return eventuallyOr(t, timeout, "", script)
}

// eventuallyOr is eventually that, when script does not turn true, runs
// report and logs its output before failing.
func eventuallyOr(t *testing.T, timeout time.Duration, report, script string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cmd := exec.Command("nsenter", "-t", sandboxPID, "-a", "bash", "-c", script)
		out, err := cmd.Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
		if time.Now().After(deadline) {
			if report != "" {
				sh(t, report)
			}
			t.Fatalf("not true within %s: %s", timeout, script)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fresh gives a test a clean engine: no berthd, no containers, no scopes,
// no configuration, the socket listening.
func fresh(t *testing.T) {
	t.Helper()
	must(t, `systemctl stop berthd.service 2>/dev/null
systemctl kill -s KILL 'berth-*.scope' 2>/dev/null
for i in $(seq 100); do [ -z "$(systemctl list-units --plain --no-legend 'berth-*.scope')" ] && break; sleep 0.1; done
systemctl list-units --plain --no-legend 'berth-*.scope' | grep . && exit 1
findmnt -rn -o TARGET | grep '^/var/lib/berth/' | xargs -r -n1 umount -l
for ns in /run/netns/berth-*; do [ -e "$ns" ] && { umount -l "$ns"; rm -f "$ns"; }; done
for br in $(ls /sys/class/net | grep -E '^(berth0|br-)'); do ip link del "$br"; done
pkill -x aardvark-dns
for tb in filter nat; do iptables -t $tb -F; iptables -t $tb -X; done 2>/dev/null
rm -rf /var/lib/berth /run/berth/containers /run/berth/runc /run/berth/runtimes /run/berth/networks /etc/berth /opt/berth-test
systemd-tmpfiles --create /usr/lib/tmpfiles.d/berth.conf
systemctl reset-failed
systemctl start berthd.socket`)
	t.Cleanup(func() {
		if t.Failed() {
			sh(t, "journalctl -u berthd --no-pager -n 40; journalctl SYSLOG_IDENTIFIER=berth-monitor --no-pager -n 20")
		}
	})
}

// config writes /etc/berth/berth.toml.
func config(t *testing.T, toml string) {
	t.Helper()
	must(t, "mkdir -p /etc/berth && cat > /etc/berth/berth.toml <<'EOF'\n"+toml+"\nEOF")
}

// runDetached starts a container and returns its id.
func runDetached(t *testing.T, args string) string {
	t.Helper()
	id := must(t, "berthctl run -d --rootfs "+rootfs+" "+args)
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a 64-hex id", id)
	}
	return id
}

func inspectField(t *testing.T, ref, field string) string {
	t.Helper()
	return must(t, fmt.Sprintf(`busctl get-property io.berth.Engine1 $(busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetContainer s %s | cut -d'"' -f2) io.berth.Engine1.Container %s | cut -d' ' -f2- | tr -d '"'`, ref, field))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// makeImages writes the test image archives (seen at /srv/images in the
// sandbox):
//   - busybox-docker.tar: docker save of busybox:latest (the root fs)
//   - tools-oci.tar: OCI layout, gzip layers, example.com/tools:v1: the
//     same base layer, a data layer and a layer of whiteouts; Env,
//     WorkingDir, User and Cmd set
//   - entry-docker.tar.gz: entry:v1 with Entrypoint, Cmd and StopSignal
//     (gzipped afterwards, as docker save | gzip)
//   - health-docker.tar: health:v1, the root fs with HEALTHCHECK
//     CMD-SHELL "test -e /etc/hostname", every 200 ms, 2 retries, and Cmd
//     sleep 1000
//   - evil.tar: a layer with an entry "../../etc/evil-from-image"
//   - vol-docker.tar: vol:v1, the root fs plus /srv/content (a directory
//     of uid 1000, mode 0750, with file, uid 1000 gid 100, mode 0640) and
//     /srv/empty, with VOLUME /srv/content and /srv/empty
func makeImages(dir, rootfs string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tool := filepath.Join(dir, "mkimage")
	for _, name := range []string{"mkimage", "pushimage"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./"+name).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v: %s", name, err, out)
		}
	}
	layers := filepath.Join(dir, "layers")
	os.RemoveAll(layers)
	files := map[string]string{
		"data/data/keep": "keep\n", "data/data/gone": "gone\n", "data/opq/old": "old\n",
		"top/data/.wh.gone": "", "top/opq/.wh..wh..opq": "", "top/opq/new": "new\n", "top/hello.txt": "hello from a layer\n",
	}
	for name, body := range files {
		p := filepath.Join(layers, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	vol := filepath.Join(layers, "vol")
	if err := os.MkdirAll(filepath.Join(vol, "srv", "content"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(vol, "srv", "empty"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vol, "srv", "content", "file"), []byte("from the image\n"), 0o640); err != nil {
		return err
	}
	for _, c := range []struct {
		p        string
		uid, gid int
		mode     os.FileMode
	}{{"srv/content/file", 1000, 100, 0o640}, {"srv/content", 1000, 1000, 0o750}} {
		if err := os.Chown(filepath.Join(vol, c.p), c.uid, c.gid); err != nil {
			return err
		}
		if err := os.Chmod(filepath.Join(vol, c.p), c.mode); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"-format", "docker", "-ref", "vol:v1", "-cmd", `["sh"]`, "-volume", "/srv/content", "-volume", "/srv/empty",
			"-o", filepath.Join(dir, "vol-docker.tar"), rootfs, vol},
		{"-format", "docker", "-ref", "busybox:latest", "-cmd", `["sh"]`, "-o", filepath.Join(dir, "busybox-docker.tar"), rootfs},
		{"-format", "oci", "-gzip", "-ref", "example.com/tools:v1", "-env", "GREETING=hi", "-workdir", "/data", "-user", "1000",
			"-cmd", `["sh","-c","echo $GREETING from $(pwd) as $(id -u)"]`, "-o", filepath.Join(dir, "tools-oci.tar"),
			rootfs, filepath.Join(layers, "data"), filepath.Join(layers, "top")},
		{"-format", "docker", "-ref", "entry:v1", "-entrypoint", `["echo","entry"]`, "-cmd", `["default"]`, "-stop-signal", "SIGUSR1",
			"-o", filepath.Join(dir, "entry-docker.tar.gz"), rootfs},
		{"-format", "docker", "-ref", "health:v1", "-cmd", `["sleep","1000"]`,
			"-healthcheck", `{"Test":["CMD-SHELL","test -e /etc/hostname"],"Interval":200000000,"Retries":2}`,
			"-o", filepath.Join(dir, "health-docker.tar"), rootfs},
		{"-format", "docker", "-ref", "badhealth:v1", "-cmd", `["sleep","1000"]`,
			"-healthcheck", `{"Test":["CMD-SHELL","true"],"Interval":10,"Retries":-3}`,
			"-o", filepath.Join(dir, "badhealth-docker.tar"), rootfs},
		{"-format", "docker", "-ref", "evil:latest", "-evil-entry", "../../etc/evil-from-image", "-o", filepath.Join(dir, "evil.tar"), rootfs},
	} {
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("mkimage %v: %v: %s", args, err, out)
		}
	}
	gz := filepath.Join(dir, "entry-docker.tar.gz")
	if out, err := exec.Command("sh", "-c", "gzip -c "+gz+" > "+gz+".tmp && mv "+gz+".tmp "+gz).CombinedOutput(); err != nil {
		return fmt.Errorf("gzip: %v: %s", err, out)
	}
	return nil
}
