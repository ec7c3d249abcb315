//go:build e2e

package tests

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIGrammar: berthctl reads docker's grammar through the real binary.
func TestCLIGrammar(t *testing.T) {
	fresh(t)
	// One version everywhere: version/VERSION's, as make install built it.
	vf, err := os.ReadFile("../version/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(vf))
	for _, c := range []struct{ cmd, out string }{
		{"berthctl --version", "berthctl version " + want},
		{"berthd --version", "berthd version " + want},
		{"busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager Version", `s "` + want + `"`},
	} {
		if v := must(t, c.cmd); v != c.out {
			t.Fatalf("%s: %q, want %q", c.cmd, v, c.out)
		}
	}
	// --help on every verb prints usage and exits 0, never touching a
	// container named --help.
	for _, verb := range []string{"run", "create", "start", "stop", "restart", "kill", "pause", "unpause", "exec", "rm",
		"ps", "inspect", "logs", "wait", "attach", "status", "reload", "images", "image", "image ls", "image inspect",
		"image rm", "image prune", "pull", "load", "save", "tag", "rmi", "completion"} {
		if out := must(t, "berthctl "+verb+" --help"); !strings.Contains(out, "Usage:") || !strings.Contains(out, "berthctl "+verb) {
			t.Fatalf("%s --help:\n%s", verb, out)
		}
	}
	if out := must(t, "berthctl --help"); !strings.Contains(out, "Usage:") {
		t.Fatalf("--help:\n%s", out)
	}
	// Mistakes on the command line: the flag as typed, suggestions, 125.
	for _, tc := range []struct{ cmd, want string }{
		{"berthctl ps --bogus", "unknown flag: --bogus"},
		{"berthctl run --rootfs " + rootfs + " --frobnicate true", "unknown flag: --frobnicate"},
		{"berthctl stpo web", "Did you mean this?\n\tstop"},
		{"berthctl imgaes", "\timages"},
		{"berthctl pause", `"berthctl pause" requires at least 1 argument`},
	} {
		_, errOut, code := sh(t, tc.cmd)
		if code != 125 || !strings.Contains(errOut, tc.want) {
			t.Fatalf("%s: exit %d, %q; want 125 and %q", tc.cmd, code, errOut, tc.want)
		}
	}

	// Combined short flags, -h as the host name, flags ending at the
	// first argument.
	id := must(t, "berthctl run -dit --name dit --rootfs "+rootfs+" -- sh")
	if len(id) != 64 {
		t.Fatalf("run -dit printed %q", id)
	}
	if out := must(t, "berthctl inspect -f '{{.State.Status}} {{json .Config.Tty}} {{.Name | upper}}' dit"); out != "running true /DIT" { // docker: Name has a leading /
		t.Fatalf("inspect -f: %q", out)
	}
	if out := must(t, "berthctl run --rm -h myhost --rootfs "+rootfs+" hostname"); out != "myhost" {
		t.Fatalf("-h: %q", out)
	}
	if out := must(t, "berthctl run --rm --hostname=other --rootfs="+rootfs+" sh -c 'echo a -y -d'"); out != "a -y -d" {
		t.Fatalf("--flag=value and arguments after the command: %q", out)
	}

	// ps: templates, table, json, filters, -n/-l, --no-trunc.
	must(t, "berthctl run --name done3 --rootfs "+rootfs+" -- sh -c 'exit 3'; berthctl run --name done0 --rootfs "+rootfs+" true; berthctl wait done3 done0")
	if out := must(t, `berthctl ps --format 'table {{.Names}}\t{{.State}}'`); out != "NAMES     STATE\ndit       running" {
		t.Fatalf("ps --format table:\n%s", out)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl ps --format '{{json .}}'")), &row); err != nil || row["Names"] != "dit" || row["ID"] != id[:12] || row["State"] != "running" {
		t.Fatalf("ps --format '{{json .}}': %v %v", row, err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(must(t, "berthctl ps -a --format json")), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("ps -a --format json: %v %v", rows, err)
	}
	for _, tc := range []struct{ args, want string }{
		{"--filter status=exited", "done0\ndone3"}, // status implies -a, newest first
		{"-a --filter name=^dit$", "dit"},
		{"-a -f name=done -f exited=3", "done3"},
		{"-a -f exited=0", "done0"},
		{"-a -f id=" + id[:8], "dit"},
		{"-a --filter ancestor=" + rootfs, "done0\ndone3\ndit"},
		{"-n 2", "done0\ndone3"},
		{"-l", "done0"},
		{"--filter status=paused", ""},
	} {
		if out := must(t, "berthctl ps "+tc.args+" --format '{{.Names}}'"); out != tc.want {
			t.Fatalf("ps %s: %q, want %q", tc.args, out, tc.want)
		}
	}
	if out := must(t, "berthctl ps -q --no-trunc --filter name=dit"); out != id {
		t.Fatalf("ps -q --no-trunc: %q", out)
	}
	if out := must(t, "berthctl ps -s | head -1"); !strings.Contains(out, "SIZE") {
		t.Fatalf("ps -s: %q", out)
	}
	if msg := fails(t, "berthctl ps --filter label==b"); !strings.Contains(msg, "want label=KEY") {
		t.Fatalf("label filter without a key: %q", msg)
	}
	if msg := fails(t, "berthctl ps --filter status=asleep"); !strings.Contains(msg, `"status=asleep": invalid status`) {
		t.Fatalf("bad status filter: %q", msg)
	}

	// logs: -n/--tail as docker; bad times refused before the call.
	must(t, "berthctl run --name lines --rootfs "+rootfs+" -- sh -c 'echo 1; echo 2; echo 3'; berthctl wait lines")
	if out := must(t, "berthctl logs -n 2 lines && berthctl logs --tail=1 lines"); out != "2\n3\n3" {
		t.Fatalf("logs -n: %q", out)
	}
	if msg := fails(t, "berthctl logs --since yesterday lines"); !strings.Contains(msg, `--since: "yesterday": not a time`) {
		t.Fatalf("logs --since yesterday: %q", msg)
	}
	// Completion scripts, and names completed from berthd (stop offers
	// running containers only).
	for shell, want := range map[string]string{"bash": "__start_berthctl", "zsh": "#compdef berthctl", "fish": "complete -c berthctl"} {
		if out := must(t, "berthctl completion "+shell); !strings.Contains(out, want) {
			t.Fatalf("completion %s lacks %q", shell, want)
		}
	}
	if out := must(t, "berthctl __complete stop '' 2>/dev/null"); !strings.HasPrefix(out, "dit\n:") {
		t.Fatalf("completion of stop: %q", out)
	}
	if out := must(t, "berthctl __complete rm d 2>/dev/null | sort"); out != ":4\ndit\ndone0\ndone3" {
		t.Fatalf("completion of rm d: %q", out)
	}
	must(t, "berthctl rm -f dit done0 done3 lines")
}

// TestEnvFromClient: -e NAME takes berthctl's value and drops an unset
// name (run, create, exec); -e =foo is refused before anything exists.
func TestEnvFromClient(t *testing.T) {
	fresh(t)
	script := `sh -c 'echo "$CLIENTVAR|${UNSETVAR-unset}|$FILEVAR"'`
	must(t, "printf '# vars\\nFILEVAR=from file\\nCLIENTVAR=overridden\\n' > /tmp/env.list")
	if out := must(t, "CLIENTVAR=x berthctl run --rm --env-file /tmp/env.list -e CLIENTVAR -e UNSETVAR --rootfs "+rootfs+" -- "+script); out != "x|unset|from file" {
		t.Fatalf("run -e NAME: %q", out)
	}
	must(t, "CLIENTVAR=y berthctl create --name envc -e CLIENTVAR -e UNSETVAR --rootfs "+rootfs+" -- "+script)
	if out := must(t, "berthctl start -a envc"); out != "y|unset|" {
		t.Fatalf("create -e NAME: %q", out)
	}
	runDetached(t, "--name envx -- sleep 1000")
	if out := must(t, "CLIENTVAR=z berthctl exec -e CLIENTVAR -e UNSETVAR envx "+script); out != "z|unset|" {
		t.Fatalf("exec -e NAME: %q", out)
	}
	before := must(t, "berthctl ps -aq | sort")
	for _, cmd := range []string{"berthctl run --rm -e =foo --rootfs " + rootfs + " true", "berthctl create -e =foo --rootfs " + rootfs + " true", "berthctl exec -e =foo envx true"} {
		_, errOut, code := sh(t, cmd)
		if code != 125 || !strings.Contains(errOut, `-e "=foo"`) {
			t.Fatalf("%s: exit %d, %q", cmd, code, errOut)
		}
	}
	if after := must(t, "berthctl ps -aq | sort"); after != before {
		t.Fatalf("containers changed: %q → %q", before, after)
	}
	must(t, "berthctl rm -f envc envx")
}

// TestErrorNames: each missing thing has its own D-Bus error name, and
// berthctl says what is missing (no "no such container" for an image
// of another platform).
func TestErrorNames(t *testing.T) {
	fresh(t)
	if err := writeForeignArchive(filepath.Join(".cache", "images", "foreign-oci.tar")); err != nil {
		t.Fatal(err)
	}
	config(t, "[runtimes.temp]\npath = \"/usr/sbin/runc\"")
	must(t, "berthctl reload && berthctl create --name later --runtime temp --rootfs "+rootfs+" true")
	must(t, "rm /etc/berth/berth.toml && berthctl reload")
	// gdbus prints the error's name; busctl only its message.
	call := func(method, args string) string {
		_, errOut, code := sh(t, "gdbus call --system --dest io.berth.Engine1 --object-path /io/berth/Engine1 --method io.berth.Engine1.Manager."+method+" "+args)
		if code == 0 {
			t.Fatalf("%s %s succeeded", method, args)
		}
		return errOut
	}
	for _, tc := range []struct{ name, out, want string }{
		{"unknown image", call("CreateContainer", `"{'image': <'nosuchimage:v9'>}"`), "io.berth.Engine1.Error.NoSuchImage"},
		{"unknown runtime", call("CreateContainer", `"{'rootfs': <'`+rootfs+`'>, 'cmd': <['true']>, 'runtime': <'nope'>}"`), "io.berth.Engine1.Error.NoSuchRuntime"},
		{"runtime removed from the config", call("StartContainer", `later "{}"`), "io.berth.Engine1.Error.NoSuchRuntime"},
		{"unknown container", call("StartContainer", `nosuchthing "{}"`), "io.berth.Engine1.Error.NoSuchContainer"},
		{"name in use", call("CreateContainer", `"{'name': <'later'>, 'rootfs': <'`+rootfs+`'>, 'cmd': <['true']>}"`), "io.berth.Engine1.Error.NameInUse"},
	} {
		if !strings.Contains(tc.out, tc.want) {
			t.Errorf("%s: %q, want %s", tc.name, tc.out, tc.want)
		}
	}
	// LoadImage takes a descriptor, which gdbus cannot pass: watch the
	// error reply to berthctl's call on the bus.
	must(t, "(timeout 10 busctl monitor --match \"type='error'\" >/tmp/err.out 2>&1 &); sleep 1")
	msg := fails(t, "berthctl load -i /srv/images/foreign-oci.tar")
	if !strings.Contains(msg, "no image for this platform (linux/") || strings.Contains(msg, "no such container") {
		t.Fatalf("berthctl load of a foreign index: %q", msg)
	}
	eventually(t, 10*time.Second, "grep -q 'ErrorName=io.berth.Engine1.Error.NoSuchPlatform' /tmp/err.out")
	if msg := fails(t, "berthctl start later"); !strings.Contains(msg, `runtime "temp" is not in the configuration`) {
		t.Fatalf("start with a removed runtime: %q", msg)
	}
	must(t, "berthctl rm later")
}

// writeForeignArchive writes an OCI layout whose only image is an index
// for linux/s390x, a platform the sandbox does not run.
func writeForeignArchive(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Platform    map[string]string `json:"platform,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	blob := func(mt string, v any) (desc, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return desc{}, err
		}
		d := desc{MediaType: mt, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(b)), Size: len(b)}
		return d, add("blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:"), b)
	}
	cfg, err := blob("application/vnd.oci.image.config.v1+json", map[string]any{"architecture": "s390x", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}})
	if err != nil {
		return err
	}
	man, err := blob("application/vnd.oci.image.manifest.v1+json", map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg, "layers": []desc{}})
	if err != nil {
		return err
	}
	man.Platform = map[string]string{"architecture": "s390x", "os": "linux"}
	idx, err := blob("application/vnd.oci.image.index.v1+json", map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []desc{man}})
	if err != nil {
		return err
	}
	idx.Annotations = map[string]string{"org.opencontainers.image.ref.name": "foreign:v1", "io.containerd.image.name": "example.com/foreign:v1"}
	top, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []desc{idx}})
	if err != nil {
		return err
	}
	if err := add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := add("index.json", top); err != nil {
		return err
	}
	return tw.Close()
}

// TestPayloadExitCodes: a command that does not exist exits 127, one that
// cannot be run 126, berth's own failures 125 (run, start -a, exec), and
// nothing is left behind by run --rm.
func TestPayloadExitCodes(t *testing.T) {
	fresh(t)
	runDetached(t, "--name box -- sleep 1000")
	must(t, "berthctl create --name nostart --rootfs "+rootfs+" /nonexistent")
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"berthctl run --rm --rootfs " + rootfs + " /nonexistent", 127},
		{"berthctl run --rm --rootfs " + rootfs + " /etc", 126},
		{"berthctl start -a nostart", 127},
		{"berthctl exec box /nonexistent", 127},
		{"berthctl exec box /etc", 126},
		{"berthctl run --rm --runtime nope --rootfs " + rootfs + " true", 125},
		{"berthctl exec nosuchbox true", 125},
	} {
		_, errOut, code := sh(t, tc.cmd)
		if code != tc.code {
			t.Errorf("%s: exit %d (%q), want %d", tc.cmd, code, errOut, tc.code)
		}
	}
	if out := must(t, "berthctl ps -a --format '{{.Names}}' | sort"); out != "box\nnostart" {
		t.Fatalf("left behind: %q", out)
	}
	must(t, "berthctl rm -f box nostart")
}

// TestConsoleSize: run -t and exec -t give the payload the terminal's size
// before its first instruction.
func TestConsoleSize(t *testing.T) {
	fresh(t)
	runDetached(t, "--name sized -- sleep 1000")
	for i := 0; i < 5; i++ {
		for _, cmd := range []string{"berthctl run --rm -t --rootfs " + rootfs + " stty size", "berthctl exec -t sized stty size"} {
			out := must(t, `script -qec "stty rows 30 cols 100; `+cmd+`" /dev/null </dev/null`)
			if strings.TrimSpace(strings.ReplaceAll(out, "\r", "")) != "30 100" {
				t.Fatalf("%s: %q, want 30 100", cmd, out)
			}
		}
	}
	must(t, "berthctl rm -f sized")
}

// TestImagesDigests: images --digests shows the registry's manifest
// digest beside the tag, and images takes templates.
func TestImagesDigests(t *testing.T) {
	fresh(t)
	registry(t)
	repo := "127.0.0.1:5000/test/busybox"
	dgst := must(t, `curl -sf -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' `+
		`-H 'Accept: application/vnd.oci.image.manifest.v1+json' http://127.0.0.1:5000/v2/test/busybox/manifests/latest | `+
		`tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'`)
	must(t, "berthctl pull "+repo+" && berthctl load -i /srv/images/busybox-docker.tar")
	if out := must(t, "berthctl images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' | sort"); out != repo+" latest "+dgst+"\nbusybox latest <none>" {
		t.Fatalf("images --digests --format: %q", out)
	}
	if out := must(t, "berthctl images --digests | head -1"); !strings.Contains(out, "TAG") || !strings.Contains(out, "DIGEST") {
		t.Fatalf("images --digests header: %q", out)
	}
	if out := must(t, "berthctl images --format 'table {{.Repository}}' | head -1"); out != "REPOSITORY" {
		t.Fatalf("images --format table: %q", out)
	}
}

// TestLogsTimeOptions: logs -t prefixes each line with its time (RFC 3339
// in UTC, as docker), --since and --until take docker's time forms, -n
// counts from the end.
func TestLogsTimeOptions(t *testing.T) {
	fresh(t)
	must(t, "berthctl run --name stamps --rootfs "+rootfs+" -- sh -c 'echo early; sleep 2; echo late'; berthctl wait stamps")
	out := must(t, "berthctl logs -t stamps")
	lines := strings.Split(out, "\n")
	if len(lines) != 2 {
		t.Fatalf("logs -t: %q", out)
	}
	var at [2]time.Time
	for i, want := range []string{"early", "late"} {
		ts, text, _ := strings.Cut(lines[i], " ")
		var err error
		if at[i], err = time.Parse(time.RFC3339Nano, ts); err != nil || text != want || !strings.HasSuffix(ts, "Z") {
			t.Fatalf("logs -t line %q: %v", lines[i], err)
		}
	}
	mid := at[0].Add(at[1].Sub(at[0]) / 2)
	for _, tc := range []struct{ args, want string }{
		{fmt.Sprintf("--since %d.%09d", mid.Unix(), mid.Nanosecond()), "late"},
		{"--until " + mid.Format(time.RFC3339Nano), "early"},
		{"--since=" + mid.Add(-time.Hour).Format("2006-01-02T15:04:05Z07:00"), "early\nlate"},
		{"--since 1h", "early\nlate"},
		{"--until 10m", ""},
		{"-n 1 -t", lines[1]},
		{"--tail 0", ""},
	} {
		if got := must(t, "berthctl logs "+tc.args+" stamps"); got != tc.want {
			t.Errorf("logs %s: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestStartStopSeveral: start takes several containers, as docker's; stop
// of several works on them at once, so payloads that ignore SIGTERM cost
// one stop timeout, not one each.
func TestStartStopSeveral(t *testing.T) {
	fresh(t)
	for _, n := range []string{"sv1", "sv2", "sv3"} {
		must(t, "berthctl create --name "+n+" --network none --rootfs "+rootfs+" -- sleep 1000")
	}
	if got := must(t, "berthctl start sv1 sv2 sv3"); got != "sv1\nsv2\nsv3" {
		t.Fatalf("start of three: %q", got)
	}
	if got := must(t, "berthctl ps --format '{{.Names}}' | sort | tr '\\n' ' '"); got != "sv1 sv2 sv3" {
		t.Fatalf("running after start: %q", got)
	}
	// sleep as PID 1 ignores SIGTERM: each stop waits its 2 s timeout.
	// At once: all three have their SIGTERM before the first dies.
	t0 := must(t, "date +%s.%N")
	if got := must(t, "berthctl stop -t 2 sv1 sv2 sv3"); got != "sv1\nsv2\nsv3" {
		t.Fatalf("stop of three: %q", got)
	}
	if got := must(t, "berthctl events --since "+t0+" --until 0s --format '{{.Action}}' | head -3 | tr '\\n' ,"); got != "kill,kill,kill," {
		t.Errorf("first events of the stop of three: %q, want their three SIGTERM kills first", got)
	}
	msg := fails(t, "berthctl start -a sv1 sv2")
	if !strings.Contains(msg, "take one container") {
		t.Errorf("start -a of two: %q", msg)
	}
	must(t, "berthctl rm sv1 sv2 sv3")
}
