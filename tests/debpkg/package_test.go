//go:build e2e

// Package debpkg tests the Debian package in a booted Debian 12: a cached
// debootstrap root (tests/debroot.sh) booted with --volatile=overlay, so
// that /usr is writable and every change vanishes at poweroff. Run it
// through `make package-test`, which builds the two packages it needs:
// BERTH_DEBS names their directory, BERTH_DEB_OLD and BERTH_DEB_NEW their
// versions (NEW above OLD).
package debpkg

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	sandboxPID     string
	oldVer, newVer string
)

func TestMain(m *testing.M) { os.Exit(boot(m)) }

func boot(m *testing.M) int {
	debs := os.Getenv("BERTH_DEBS")
	oldVer, newVer = os.Getenv("BERTH_DEB_OLD"), os.Getenv("BERTH_DEB_NEW")
	if debs == "" || oldVer == "" || newVer == "" || os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "debpkg: run as root through `make package-test`")
		return 1
	}
	root, err := exec.Command("../debroot.sh").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "debpkg: debootstrap root: %v\n", err)
		return 1
	}
	cache, _ := filepath.Abs("../.cache")
	rfs := filepath.Join(cache, "debpkg-rootfs")
	if out, err := exec.Command("../mkrootfs.sh", rfs).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "debpkg: mkrootfs: %v\n%s", err, out)
		return 1
	}
	imgs := filepath.Join(cache, "debpkg-images")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "debpkg: %v\n", err)
		return 1
	}
	if out, err := exec.Command("go", "run", "../mkimage", "-format", "docker", "-ref", "busybox:latest", "-cmd", `["sh"]`,
		"-o", filepath.Join(imgs, "busybox.tar"), rfs).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "debpkg: mkimage: %v\n%s", err, out)
		return 1
	}
	name := fmt.Sprintf("berth-deb-%d", os.Getpid())
	script := fmt.Sprintf(`. ../sandbox.sh && SANDBOX_ROOT=%q SANDBOX_BIND=%q sandbox_boot %s "" %q %q %q && echo $SANDBOX_PID $SANDBOX_CGROUP`,
		strings.TrimSpace(string(root)), debs+":/srv/debs", name, rfs, filepath.Join(cache, "debpkg-sandbox.log"), imgs)
	out, err := exec.Command("bash", "-c", script).Output()
	booted := strings.Fields(string(out))
	if err != nil || len(booted) != 2 {
		fmt.Fprintf(os.Stderr, "debpkg: boot: %v %q\n", err, out)
		return 1
	}
	sandboxPID = booted[0]
	defer exec.Command("bash", "-c", ". ../sandbox.sh && SANDBOX_PID="+sandboxPID+" SANDBOX_CGROUP="+booted[1]+" && sandbox_poweroff").Run()
	return m.Run()
}

// sh runs a bash script in the sandbox and logs it with its output.
func sh(t *testing.T, script string) (string, int) {
	t.Helper()
	cmd := exec.Command("nsenter", "-t", sandboxPID, "-a", "bash", "-c", script)
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("nsenter: %v", err)
	}
	t.Logf("$ %s\n%s(exit %d)", script, o.String(), code)
	return strings.TrimSpace(o.String()), code
}

// must runs a script that must succeed and returns its trimmed output.
func must(t *testing.T, script string) string {
	t.Helper()
	out, code := sh(t, script)
	if code != 0 {
		t.Fatalf("%s: exit %d", script, code)
	}
	return out
}

// want fails unless script prints exactly w.
func want(t *testing.T, script, w string) {
	t.Helper()
	if out := must(t, script); out != w {
		t.Fatalf("%s: %q, want %q", script, out, w)
	}
}

// eventually retries script for up to 20 s until it succeeds.
func eventually(t *testing.T, script string) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cmd := exec.Command("nsenter", "-t", sandboxPID, "-a", "bash", "-c", script)
		if cmd.Run() == nil {
			return
		}
		if time.Now().After(end) {
			sh(t, script)
			t.Fatalf("not true within 20 s: %s", script)
		}
	}
}

func deb(v string) string { return "/srv/debs/berth_" + v + "_amd64.deb" }

const apt = "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "

// netGone is true when no container network is left: namespace, veth,
// port forwarding rule.
const netGone = `[ -z "$(ls /run/netns 2>/dev/null | grep ^berth-)" ] && ! ip -o link show type veth | grep -q . &&
! iptables-save -t nat | grep -q -- '--to-destination'`

// dataDisk mounts a tmpfs on /var/lib/berth, as a disk of its own: the
// sandbox's root is an overlay, on which overlayfs cannot have its upper
// directory.
func dataDisk(t *testing.T) {
	t.Helper()
	must(t, "mkdir -p /var/lib/berth && (mountpoint -q /var/lib/berth || mount -t tmpfs -o mode=0711 berth-data /var/lib/berth)")
}

// dataGone is true when purge left nothing of berth's: /etc/berth and
// /run/berth gone, /var/lib/berth (a mount point here) empty.
const dataGone = `test ! -e /etc/berth && test ! -e /run/berth && [ -z "$(ls -A /var/lib/berth)" ]`

// TestPackageLifecycle: install, first call, a running container across an
// upgrade to a rebuilt package of a higher version, remove, purge.
func TestPackageLifecycle(t *testing.T) {
	dataDisk(t)
	must(t, apt+"install "+deb(oldVer))

	// Installed: the socket enabled and listening, berthd not running and
	// not enabled, the restore unit enabled, group and files in place.
	want(t, "systemctl is-enabled berthd.socket berth-restore.service | sort -u", "enabled")
	want(t, "systemctl is-active berthd.socket", "active")
	want(t, "systemctl is-active berthd.service || true", "inactive")
	if st := must(t, "systemctl is-enabled berthd.service || true"); st == "enabled" {
		t.Fatalf("berthd.service is enabled on its own")
	}
	want(t, "stat -c '%G %a' /run/berth/berth.sock", "berth 660")
	must(t, `dpkg-query -W -f='${Conffiles}\n' berth | grep -q '^ /etc/berth/berth.toml '`)
	must(t, "test -s /etc/berth/berth.toml && ls /usr/share/man/man1/berthctl.1.gz /usr/share/man/man1/berthctl-run.1.gz "+
		"/usr/share/man/man8/berthd.8.gz /usr/share/man/man5/berth.toml.5.gz /usr/share/bash-completion/completions/berthctl "+
		"/usr/share/zsh/vendor-completions/_berthctl /usr/share/fish/vendor_completions.d/berthctl.fish /usr/libexec/berth/berth-monitor")
	want(t, "berthctl --version", "berthctl version "+oldVer)
	want(t, "berthd --version", "berthd version "+oldVer)

	// The first call starts berthd (D-Bus activation); it reports the
	// package's version.
	must(t, "berthctl ps")
	want(t, "systemctl is-active berthd.service", "active")
	version := "busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager Version"
	want(t, version, `s "`+oldVer+`"`)

	// A container of an image (an overlay mount) on the default bridge,
	// with a published port.
	must(t, "berthctl load -q -i /srv/images/busybox.tar")
	must(t, `berthctl run -d --name keep -p 8080:80 busybox sh -c 'echo hello >/tmp/index.html && exec httpd -f -p 80 -h /tmp'`)
	eventually(t, "curl -sf http://127.0.0.1:8080/index.html | grep -qx hello")
	id := must(t, "berthctl inspect -f '{{.Id}}' keep")
	pid := must(t, "berthctl inspect -f '{{.State.Pid}}' keep")
	mon := must(t, "head -1 /sys/fs/cgroup$(systemctl show -p ControlGroup --value berth-"+id+".scope)/supervisor/cgroup.procs")
	stamps := "systemctl show -p ActiveEnterTimestampMonotonic --value berthd.socket berth.slice"
	before := must(t, stamps)
	berthdPID := must(t, "berthctl ps -q >/dev/null && systemctl show -p MainPID --value berthd.service")

	// Upgrade under the running container.
	must(t, apt+"install "+deb(newVer))
	want(t, "dpkg-query -W -f='${Version}' berth", newVer)
	must(t, "kill -0 "+pid+" && kill -0 "+mon)
	want(t, "systemctl is-active berth-"+id+".scope", "active")
	if after := must(t, stamps); after != before {
		t.Fatalf("the upgrade restarted the socket or berth.slice: %q, then %q", before, after)
	}
	if now := must(t, "systemctl show -p MainPID --value berthd.service"); now == berthdPID {
		t.Fatalf("berthd (pid %s) was not restarted by the upgrade", berthdPID)
	}
	want(t, version, `s "`+newVer+`"`)
	want(t, "berthctl --version", "berthctl version "+newVer)
	want(t, "systemctl is-enabled berthd.socket berth-restore.service | sort -u", "enabled")
	want(t, "berthctl inspect -f '{{.State.Status}} {{.State.Pid}}' keep", "running "+pid)
	must(t, "curl -sf http://127.0.0.1:8080/index.html | grep -qx hello")
	// The new berthd stops what the old one started, and starts it again.
	must(t, "berthctl stop -t 5 keep")
	want(t, "berthctl inspect -f '{{.State.Status}}' keep", "exited")
	eventually(t, "! kill -0 "+pid+" 2>/dev/null")
	must(t, "berthctl start keep")
	eventually(t, "curl -sf http://127.0.0.1:8080/index.html | grep -qx hello")

	// Remove: the container is stopped through berthd (its network torn
	// down), berthd and its socket stop; data and configuration stay.
	must(t, apt+"remove berth")
	eventually(t, "! systemctl is-active -q berth-"+id+".scope")
	eventually(t, netGone)
	want(t, "systemctl is-active berthd.socket berthd.service | sort -u", "inactive")
	must(t, "test ! -e /usr/bin/berthd && test -d /var/lib/berth/containers/"+id+" && test -s /etc/berth/berth.toml")
	must(t, "! findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/'")

	// Installed again after a remove: the socket listens, the container
	// and its image are there and start.
	must(t, apt+"install "+deb(newVer))
	want(t, "systemctl is-active berthd.socket", "active")
	want(t, "systemctl is-enabled berthd.socket berth-restore.service | sort -u", "enabled")
	must(t, "berthctl start keep")
	eventually(t, "curl -sf http://127.0.0.1:8080/index.html | grep -qx hello")
	must(t, apt+"remove berth")
	eventually(t, "! systemctl is-active -q berth-"+id+".scope")

	// Purge: nothing of berth is left.
	must(t, apt+"purge berth")
	must(t, dataGone)
	must(t, "! dpkg-query -W -f='${Status}' berth 2>/dev/null | grep -q installed")
	must(t, "! ls /etc/systemd/system/*/berthd.socket /etc/systemd/system/*/berth-restore.service 2>/dev/null | grep .")
	must(t, "! systemctl list-units --all --plain --no-legend 'berth-*.scope' | grep -v ' inactive ' | grep .")
}

// TestPurgeUnderRunningContainer: when berthd cannot be reached at removal
// (here: masked), the removal still stops the container's scope and
// releases its network (berthd --release-networks), and the purge
// unmounts its root file system and removes berth's directories.
func TestPurgeUnderRunningContainer(t *testing.T) {
	dataDisk(t)
	must(t, apt+"install "+deb(newVer))
	must(t, "berthctl load -q -i /srv/images/busybox.tar && berthctl run -d --name left -p 8081:80 busybox httpd -f -p 80")
	id := must(t, "berthctl inspect -f '{{.Id}}' left")
	must(t, "findmnt -rn -o TARGET | grep -q '^/var/lib/berth/'")
	must(t, "systemctl stop berthd.service && systemctl mask --runtime berthd.service")
	defer sh(t, "systemctl unmask --runtime berthd.service")
	must(t, apt+"purge berth")
	eventually(t, "! systemctl is-active -q berth-"+id+".scope")
	must(t, "! findmnt -rn -o TARGET | grep -E '^(/var/lib/berth|/run/berth)/'")
	must(t, dataGone)
	// Its network was released without berthd: namespace, veth, port
	// forwarding rules, and the default bridge with its last container.
	must(t, netGone)
	must(t, "! ip -o link show type bridge | grep -q berth0")
}
