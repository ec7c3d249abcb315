package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/berthd/berth/errs"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestRunGrammar: docker's grammar for run and create, through the real
// flag definitions.
func TestRunGrammar(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"LABELFILE": filepath.Join(dir, "labels"), "SECCOMPFILE": filepath.Join(dir, "seccomp.json")}
	os.WriteFile(files["LABELFILE"], []byte("# labels\n\n  a=from file\nb=x=y\nbare\n"), 0o644)
	os.WriteFile(files["SECCOMPFILE"], []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644)
	for _, tc := range []struct {
		name    string
		args    []string
		want    map[string]any // option values
		absent  []string       // options that must not be set
		detach  bool
		wantErr string
	}{
		{name: "combined -dit", args: []string{"-dit", "busybox", "sh"}, detach: true,
			want: map[string]any{"image": "busybox", "cmd": []string{"sh"}, "tty": true, "stdin": true}},
		{name: "-h is the host name", args: []string{"-h", "box", "busybox"},
			want: map[string]any{"hostname": "box", "image": "busybox"}, absent: []string{"cmd"}},
		{name: "--flag=value", args: []string{"--name=web", "--memory=64m", "--cpus=1.5", "busybox"},
			want: map[string]any{"name": "web", "memory": uint64(64 << 20), "cpus": 1.5}},
		{name: "flags stop at the image", args: []string{"--rm", "busybox", "sh", "-c", "x -y", "-d"},
			want: map[string]any{"auto_remove": true, "image": "busybox", "cmd": []string{"sh", "-c", "x -y", "-d"}}},
		{name: "--rootfs with --", args: []string{"--rootfs", "/srv/rootfs", "--", "sh", "-c", "echo hi"},
			want: map[string]any{"rootfs": "/srv/rootfs", "cmd": []string{"sh", "-c", "echo hi"}}, absent: []string{"image"}},
		{name: "stop timeout only when given", args: []string{"busybox"}, absent: []string{"stop_timeout", "env", "tty"}},
		{name: "stop timeout 0", args: []string{"--stop-timeout", "0", "busybox"}, want: map[string]any{"stop_timeout": int64(0)}},
		{name: "-e forms", args: []string{"-e", "A=1", "-e", "FROMCLIENT", "-e", "UNSET", "--env=B=", "busybox"},
			want: map[string]any{"env": []string{"A=1", "FROMCLIENT=x", "B="}}},
		{name: "-e with an empty name", args: []string{"-e", "=foo", "busybox"}, wantErr: `-e "=foo": invalid environment variable: no name`},
		{name: "no image", args: []string{"--rm"}, wantErr: "give an image"},
		{name: "rootfs without a command", args: []string{"--rootfs", "/x"}, wantErr: "no command"},
		{name: "bad size", args: []string{"-m", "lots", "busybox"}, wantErr: `--memory: invalid size "lots"`},
		{name: "entrypoint", args: []string{"--entrypoint", "/bin/echo", "busybox", "hi"},
			want: map[string]any{"entrypoint": []string{"/bin/echo"}, "cmd": []string{"hi"}}},
		{name: "entrypoint cleared", args: []string{"--entrypoint=", "busybox"}, want: map[string]any{"entrypoint": []string{""}}},
		{name: "labels: -l wins over the file", args: []string{"--label-file", "LABELFILE", "-l", "a=1", "--label", "flag", "busybox"},
			want: map[string]any{"labels": map[string]string{"a": "1", "b": "x=y", "flag": "", "bare": ""}}},
		{name: "label without a name", args: []string{"-l", "=x", "busybox"}, wantErr: `--label "=x"`},
		{name: "missing label file", args: []string{"--label-file", "/nonexistent", "busybox"}, wantErr: "--label-file"},
		{name: "host options", args: []string{"--read-only", "--privileged", "--init", "--cap-add", "NET_ADMIN", "--cap-drop=ALL",
			"--add-host", "db:10.0.0.2", "--dns", "1.1.1.1", "--dns-search", "example.com", "--dns-option", "ndots:2",
			"--group-add", "audio", "--pid", "host", "--ipc", "shareable", "--oom-score-adj", "-5", "--shm-size", "1g", "busybox"},
			want: map[string]any{"readonly_rootfs": true, "privileged": true, "init": true, "cap_add": []string{"NET_ADMIN"},
				"cap_drop": []string{"ALL"}, "extra_hosts": []string{"db:10.0.0.2"}, "dns": []string{"1.1.1.1"},
				"dns_search": []string{"example.com"}, "dns_options": []string{"ndots:2"}, "group_add": []string{"audio"},
				"pid_mode": "host", "ipc_mode": "shareable", "oom_score_adj": int64(-5), "shm_size": uint64(1 << 30)}},
		{name: "oom-score-adj only when given", args: []string{"busybox"}, absent: []string{"oom_score_adj", "entrypoint", "labels", "devices"}},
		{name: "devices", args: []string{"--device", "/dev/fuse", "--device", "/dev/null:r", "--device", "/dev/zero:/dev/z", "--device", "/dev/a:/dev/b:rw", "busybox"},
			want: map[string]any{"devices": []deviceRow{{"/dev/fuse", "", ""}, {"/dev/null", "", "r"}, {"/dev/zero", "/dev/z", ""}, {"/dev/a", "/dev/b", "rw"}}}},
		{name: "device bad permissions", args: []string{"--device", "/dev/a:/dev/b:rwx", "busybox"}, wantErr: `permissions "rwx"`},
		{name: "device too many fields", args: []string{"--device", "/dev/a:/b:r:x", "busybox"}, wantErr: "HOST[:CONTAINER[:rwm]]"},
		{name: "ulimits", args: []string{"--ulimit", "nofile=100:200", "--ulimit", "nproc=50", "busybox"},
			want: map[string]any{"ulimits": []ulimitRow{{"nofile", 100, 200}, {"nproc", 50, 50}}}},
		{name: "ulimit soft above hard", args: []string{"--ulimit", "nofile=300:200", "busybox"}, wantErr: "--ulimit"},
		{name: "ulimit unknown", args: []string{"--ulimit", "bogus=1", "busybox"}, wantErr: `--ulimit "bogus=1"`},
		{name: "sysctls", args: []string{"--sysctl", "net.ipv4.ip_forward=1", "busybox"},
			want: map[string]any{"sysctls": map[string]string{"net.ipv4.ip_forward": "1"}}},
		{name: "sysctl without a value", args: []string{"--sysctl", "net.x", "busybox"}, wantErr: `--sysctl "net.x"`},
		{name: "bad shm size", args: []string{"--shm-size", "big", "busybox"}, wantErr: "--shm-size"},
		{name: "security opts", args: []string{"--security-opt", "no-new-privileges", "--security-opt", "seccomp=SECCOMPFILE", "busybox"},
			want: map[string]any{"security_opt": []string{"no-new-privileges", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}}},
		{name: "seccomp file missing", args: []string{"--security-opt", "seccomp=/nonexistent.json", "busybox"}, wantErr: "--security-opt seccomp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f createFlags
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			f.register(fs, true)
			args := slices.Clone(tc.args)
			for i, a := range args {
				if p, ok := files[a]; ok {
					args[i] = p
				} else if k, v, ok := strings.Cut(a, "="); ok && files[v] != "" {
					args[i] = k + "=" + files[v]
				}
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			if f.detach != tc.detach {
				t.Fatalf("detach %v", f.detach)
			}
			o, err := f.options(fs.Args(), lookupFrom(map[string]string{"FROMCLIENT": "x"}))
			if tc.wantErr != "" {
				var ue *usageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("error %v, want a usage error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				got, ok := o[k]
				if !ok || fmt.Sprint(got.Value()) != fmt.Sprint(v) || fmt.Sprintf("%T", got.Value()) != fmt.Sprintf("%T", v) {
					t.Errorf("option %s = %v, want %#v", k, got, v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := o[k]; ok {
					t.Errorf("option %s set: %v", k, o[k])
				}
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "env")
	os.WriteFile(file, []byte("\xef\xbb\xbf# a comment\n\n  A=from file\nPASS\nGONE\nB=x=y\n"), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("OK=1\n=nameless\n"), 0o644)
	spaced := filepath.Join(dir, "spaced")
	os.WriteFile(spaced, []byte("MY VAR=1\n"), 0o644)
	lookup := lookupFrom(map[string]string{"PASS": "p", "EMPTY": ""})
	for _, tc := range []struct {
		name      string
		env, file []string
		want      []string
		wantErr   string
	}{
		{name: "name=value", env: []string{"A=1", "B=a=b"}, want: []string{"A=1", "B=a=b"}},
		{name: "name from the client", env: []string{"PASS"}, want: []string{"PASS=p"}},
		{name: "set but empty", env: []string{"EMPTY"}, want: []string{"EMPTY="}},
		{name: "unset is dropped", env: []string{"NOPE"}, want: nil},
		{name: "empty name", env: []string{"=foo"}, wantErr: `-e "=foo"`},
		{name: "nothing at all", env: []string{""}, wantErr: `-e ""`},
		{name: "env file then -e", file: []string{file}, env: []string{"A=override"},
			want: []string{"A=from file", "PASS=p", "B=x=y", "A=override"}},
		{name: "env file without a name", file: []string{bad}, wantErr: bad + ":2"},
		{name: "env file name with a space", file: []string{spaced}, wantErr: "white space"},
		{name: "missing env file", file: []string{filepath.Join(dir, "none")}, wantErr: "--env-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := environment(tc.env, tc.file, lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestHelpOnEveryVerb: --help works on every verb without the bus and
// never reads as an argument.
func TestHelpOnEveryVerb(t *testing.T) {
	root := newRoot(&client{})
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c != root && !c.Hidden {
			p := strings.Fields(c.CommandPath())[1:]
			paths = append(paths, p)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if len(paths) < 25 {
		t.Fatalf("only %d verbs", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(p, " "), func(t *testing.T) {
			r := newRoot(&client{})
			var out bytes.Buffer
			r.SetOut(&out)
			r.SetErr(&out)
			r.SetArgs(append(slices.Clone(p), "--help"))
			if err := r.Execute(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "berthctl "+strings.Join(p, " ")) {
				t.Fatalf("no usage:\n%s", out.String())
			}
		})
	}
}

func TestCommandLineMistakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag as typed", []string{"ps", "--bogus"}, "unknown flag: --bogus"},
		{"unknown shorthand", []string{"ps", "-aZ"}, "unknown shorthand flag: 'Z' in -Z"},
		{"did you mean", []string{"psx"}, "Did you mean this?\n\tps"},
		{"did you mean a longer verb", []string{"inpsect"}, "\tinspect"},
		{"missing argument", []string{"pause"}, `"berthctl pause" requires at least 1 argument`},
		{"too many", []string{"logs", "a", "b"}, `"berthctl logs" requires exactly 1 argument`},
		{"bad filter", []string{"ps", "--filter", "status=sleepy"}, `invalid status`},
		{"label filter without a key", []string{"ps", "-f", "label==b"}, `want label=KEY`},
		{"bad template", []string{"ps", "--format", "{{.ID"}, `--format`},
		{"bad since", []string{"logs", "--since", "yesterday", "c"}, `--since: "yesterday": not a time`},
		{"unknown shell", []string{"completion", "nosh"}, `unknown shell "nosh"`},
		{"stop timeout too large", []string{"run", "--stop-timeout", "99999999999", "busybox", "true"}, "--stop-timeout 99999999999: more than 2147483647 seconds"},
		{"stop timeout negative", []string{"create", "--stop-timeout", "-1", "busybox"}, "--stop-timeout -1: negative; berth always ends a stop"},
		{"stop -t negative", []string{"stop", "-t", "-1", "c"}, "-t/--time -1: negative"},
		{"restart -t too large", []string{"restart", "-t", "99999999999", "c"}, "-t/--time 99999999999: more than"},
		{"cpus NaN", []string{"run", "--cpus", "NaN", "busybox", "true"}, "--cpus NaN: want a number from 0.01"},
		{"cpus too small", []string{"run", "--cpus", "0.001", "busybox", "true"}, "--cpus 0.001: want a number"},
		{"memory too small", []string{"run", "-m", "1", "busybox", "true"}, "--memory 1: below the minimum of 6291456 bytes"},
		{"until before since", []string{"logs", "--since", "1h", "--until", "2h", "c"}, "--until 2h is before --since 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(&client{})
			r.SetOut(&bytes.Buffer{})
			r.SetErr(&bytes.Buffer{})
			r.SetArgs(tc.args)
			_, err := r.ExecuteC()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	web := entry{ID: "aaaa1111bbbb2222", Name: "web", Image: "busybox", State: "running", Labels: map[string]string{"tier": "front", "team": "a"},
		Networks: []string{"bridge", "app"}, Health: "healthy", Ports: []contract.PortEntry{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}, {PrivatePort: 443, Type: "tcp"}}}
	old := entry{ID: "cccc3333dddd4444", Name: "old-web", Image: "docker.io/library/busybox:latest", State: "exited", ExitCode: 3}
	db := entry{ID: "eeee5555ffff6666", Name: "db", Image: "example.com/db:v1", State: "exited", ExitCode: 0, Labels: map[string]string{"tier": "back", "empty": ""},
		Mounts: []contract.MountEntry{{Name: "dbdata", Destination: "/var/lib/db"}, {Name: "/srv/conf", Destination: "/etc/db"}}}
	all := []entry{web, old, db}
	for _, tc := range []struct {
		name    string
		filters []string
		want    []string
	}{
		{"none", nil, []string{"web", "old-web", "db"}},
		{"name is a regexp", []string{"name=web"}, []string{"web", "old-web"}},
		{"name anchored as docker's", []string{"name=^/web$"}, []string{"web"}},
		{"name exact", []string{"name=^web$"}, []string{"web"}},
		{"id prefix", []string{"id=cccc"}, []string{"old-web"}},
		{"status", []string{"status=exited"}, []string{"old-web", "db"}},
		{"same key ORs", []string{"status=running", "name=db", "name=^web"}, []string{"web"}},
		{"two statuses", []string{"status=running", "status=exited"}, []string{"web", "old-web", "db"}},
		{"different keys AND", []string{"status=exited", "name=web"}, []string{"old-web"}},
		{"exited code", []string{"exited=3"}, []string{"old-web"}},
		{"exited 0 is not running", []string{"exited=0"}, []string{"db"}},
		{"ancestor normalised", []string{"ancestor=busybox:latest"}, []string{"web", "old-web"}},
		{"ancestor other", []string{"ancestor=example.com/db:v1"}, []string{"db"}},
		{"label key", []string{"label=tier"}, []string{"web", "db"}},
		{"label key and value", []string{"label=tier=back"}, []string{"db"}},
		{"label empty value", []string{"label=empty="}, []string{"db"}},
		{"labels all must match", []string{"label=tier", "label=team=a"}, []string{"web"}},
		{"labels none match", []string{"label=tier=back", "label=team"}, nil},
		{"volume name", []string{"volume=dbdata"}, []string{"db"}},
		{"volume target", []string{"volume=/etc/db"}, []string{"db"}},
		{"volume bind source", []string{"volume=/srv/conf"}, []string{"db"}},
		{"volume other", []string{"volume=web"}, nil},
		{"network", []string{"network=app"}, []string{"web"}},
		{"network other", []string{"network=back"}, nil},
		{"publish", []string{"publish=80"}, []string{"web"}},
		{"publish exposed only", []string{"publish=443"}, nil},
		{"publish range", []string{"publish=79-81/tcp"}, []string{"web"}},
		{"publish udp", []string{"publish=80/udp"}, nil},
		{"expose", []string{"expose=443"}, []string{"web"}},
		{"expose published", []string{"expose=80"}, []string{"web"}},
		{"expose other", []string{"expose=81-442"}, nil},
		{"health", []string{"health=healthy"}, []string{"web"}},
		{"health none", []string{"health=none"}, []string{"old-web", "db"}},
		{"health other", []string{"health=unhealthy"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFilters(tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range all {
				if f.match(e) {
					got = append(got, e.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"nokey", "color=red", "status=sleeping", "exited=x", "label=", "name=(", "publish=x", "expose=80/sctp", "publish=0", "health=fine"} {
		if _, err := parseFilters([]string{bad}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("%s: error %v does not name the filter", bad, err)
		}
	}
}

func TestTemplates(t *testing.T) {
	inspect := map[string]any{"Id": "abc", "Name": "web", "State": map[string]any{"Status": "running", "Pid": 42.0},
		"Config": map[string]any{"cmd": []any{"sh", "-c", "echo hi"}}}
	for _, tc := range []struct{ format, want string }{
		{"{{.State.Status}}", "running"},
		{"{{.Name | upper}}", "WEB"},
		{"{{upper .Name}} {{lower \"ABC\"}} {{title \"hello world\"}}", "WEB abc Hello World"},
		{"{{json .State}}", `{"Pid":42,"Status":"running"}`},
		{"{{join .Config.cmd \"+\"}}", "sh+-c+echo hi"},
		{"{{index (split \"a:b\" \":\") 1}}", "b"},
		{"{{truncate .Id 2}}|{{pad .Name 1 2}}|", "ab| web  |"},
		{`{{.Name}}\t{{.Id}}`, "web\tabc"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			f, err := parseTemplate(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.execute(inspect)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	now := uint64(time.Now().UnixMicro())
	rows := []any{
		psRow{e: entry{ID: "0123456789abcdef", Name: "web", Image: "busybox", Command: `["sleep","1000000000000000000"]`, State: "running", CreatedAt: now, StartedAt: now}},
		psRow{e: entry{ID: "fedcba9876543210", Name: "db", Image: "x", Command: `["true"]`, State: "exited", ExitCode: 3, CreatedAt: now, FinishedAt: now}},
	}
	for _, tc := range []struct{ format, want string }{
		{"table {{.ID}}\t{{.Names}}", "CONTAINER ID   NAMES\n0123456789ab   web\nfedcba987654   db\n"},
		{"{{.Names}}:{{.State}}", "web:running\ndb:exited\n"},
		{"{{.Command}}", "\"sleep 1000000000000…\"\n\"true\"\n"},
		{"table {{.Names | upper}}\t{{.Status}}", "NAMES     STATUS\nWEB       Up Less than a second\nDB        Exited (3) Less than a second ago\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			f, err := parseTemplate(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := f.write(&b, psHeaders, rows); err != nil || b.String() != tc.want {
				t.Fatalf("got %q, %v; want %q", b.String(), err, tc.want)
			}
		})
	}
	f, _ := parseTemplate("{{json .}}")
	got, err := f.execute(rows[1])
	if err != nil || !strings.Contains(got, `"Names":"db"`) || !strings.Contains(got, `"ID":"fedcba987654"`) || !strings.Contains(got, `"ExitCode":3`) {
		t.Fatalf("json .: %s %v", got, err)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"0", time.Unix(0, 0)},
		{"0s", now},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"1764417600", time.Unix(1764417600, 0)},
		{"1764417600.5", time.Unix(1764417600, 5e8)},
		{"1764417600.000000001", time.Unix(1764417600, 1)},
		{"2026-11-29T10:00:00Z", time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)},
		{"2026-11-29T10:00:00.25+01:00", time.Date(2026, 11, 29, 9, 0, 0, 25e7, time.UTC)},
		{"2026-11-29T10:00:00", time.Date(2026, 11, 29, 10, 0, 0, 0, time.Local)},
		{"2026-11-29T10:00", time.Date(2026, 11, 29, 10, 0, 0, 0, time.Local)},
		{"2026-11-29", time.Date(2026, 11, 29, 0, 0, 0, 0, time.Local)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in, now)
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "10 minutes"} {
		if _, err := parseTime(bad, now); err == nil {
			t.Errorf("%q: parsed", bad)
		}
	}
}

func TestLogsOptions(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    logsFlags
		want map[string]any
	}{
		{"defaults", logsFlags{tail: "all"}, map[string]any{"follow": false}},
		{"tail", logsFlags{tail: "3", follow: true}, map[string]any{"follow": true, "tail": int64(3)}},
		{"tail 0", logsFlags{tail: "0"}, map[string]any{"follow": false, "tail": int64(0)}},
		{"negative tail is all", logsFlags{tail: "-1"}, map[string]any{"follow": false}},
		{"since until timestamps", logsFlags{tail: "all", since: "10m", until: "1795953600", timestamps: true},
			map[string]any{"follow": false, "since": now.Add(-10 * time.Minute).UnixMicro(), "until": int64(1795953600_000000), "timestamps": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.f.options(now)
			if err != nil {
				t.Fatal(err)
			}
			if len(o) != len(tc.want) {
				t.Fatalf("options %v, want %v", o, tc.want)
			}
			for k, v := range tc.want {
				if got, ok := o[k]; !ok || got.Value() != v {
					t.Fatalf("option %s = %v, want %#v", k, got, v)
				}
			}
		})
	}
	if _, err := (&logsFlags{tail: "lots"}).options(now); err == nil {
		t.Fatal("--tail lots accepted")
	}
	if _, err := (&logsFlags{since: "1h", until: "2h"}).options(now); err == nil || err.Error() != "--until 2h is before --since 1h" {
		t.Fatalf("--since 1h --until 2h: %v", err)
	}
}

// TestExitCodes: a payload that cannot start exits 127 or 126, berth's own
// failures 125, decided on D-Bus error names only.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{*contract.ToDBus(fmt.Errorf("exec /nope: %w", errs.CommandNotFound)), exitNotFound},
		{*contract.ToDBus(fmt.Errorf("exec /etc: %w", errs.CommandNotExecutable)), exitNotExecutable},
		{*contract.ToDBus(fmt.Errorf("image x: %w", errs.NoSuchImage)), exitBerth},
		{dbus.Error{Name: contract.ErrInternal, Body: []any{"executable file not found"}}, exitBerth},
		{errors.New("cannot reach the system bus"), exitBerth},
	} {
		if got := payloadCode(tc.err); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestDescribe: the platform case no longer reads as a missing container,
// and no message is matched.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{*contract.ToDBus(fmt.Errorf("load: index sha256:ab: %w (linux/amd64)", errs.NoSuchPlatform)), "load: index sha256:ab: no image for this platform (linux/amd64)"},
		{*contract.ToDBus(fmt.Errorf("container %q: %w", "x", errs.NoSuchContainer)), `container "x": no such container`},
		{dbus.Error{Name: contract.ErrAccessDenied, Body: []any{"not in group berth"}}, "permission denied: not in group berth (run as root or as a member of group berth)"},
		{dbus.Error{Name: contract.ErrServiceUnknown, Body: []any{"The name is not activatable"}}, "The name is not activatable (berthd did not start; `journalctl -u berthd -n 20` says why)"},
	} {
		if got := describe(tc.err); got != tc.want {
			t.Errorf("describe: %q, want %q", got, tc.want)
		}
	}
}

// TestPidsLimitUnlimited: docker's --pids-limit 0 and -1 mean no limit.
func TestPidsLimitUnlimited(t *testing.T) {
	for v, want := range map[string]any{"-1": nil, "0": nil, "100": uint64(100)} {
		var f createFlags
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		f.register(fs, true)
		if err := fs.Parse([]string{"--pids-limit", v, "busybox"}); err != nil {
			t.Fatalf("--pids-limit %s: %v", v, err)
		}
		o, err := f.options(fs.Args(), lookupFrom(nil))
		if err != nil {
			t.Fatalf("--pids-limit %s: %v", v, err)
		}
		got, ok := o["pids_limit"]
		if (want == nil) == ok || (ok && got.Value() != want) {
			t.Errorf("--pids-limit %s: pids_limit %v (set %v), want %v", v, got, ok, want)
		}
	}
}

func TestPullable(t *testing.T) {
	for ref, ok := range map[string]bool{"busybox": true, "localhost:5000/x/bb:v1": true, "abc123": true,
		"localhost/x/bb@sha256:abc": false, "Busybox": false, "a:b:c": false, "busybox:": false} {
		if err := pullable(ref); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "invalid reference format")) {
			t.Errorf("%s: %v", ref, err)
		}
	}
}

// TestRefMessage: a multi-container verb names each failing container
// once.
func TestRefMessage(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		err  error
		want string
	}{
		{"nosuch", *contract.ToDBus(fmt.Errorf("container %q: %w", "nosuch", errs.NoSuchContainer)), `container "nosuch": no such container`},
		{"dup", errors.New("container dup: cannot remove a running container"), "container dup: cannot remove a running container"},
		{"c1", errors.New("cannot pause a paused container"), "c1: cannot pause a paused container"},
	} {
		if got := refMessage(tc.ref, tc.err); got != tc.want {
			t.Errorf("refMessage: %q, want %q", got, tc.want)
		}
	}
}

func TestImageRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    imageEntry
		want []string // repo tag digest
	}{
		{"tag and its digest", imageEntry{RepoTags: []string{"busybox:latest"}, RepoDigests: []string{"busybox@sha256:ab"}},
			[]string{"busybox latest sha256:ab"}},
		{"tag without a digest", imageEntry{RepoTags: []string{"localhost:5000/x/bb:v1", "mine:1"}, RepoDigests: []string{"localhost:5000/x/bb@sha256:cd"}},
			[]string{"localhost:5000/x/bb v1 sha256:cd", "mine 1 <none>"}},
		{"digest only", imageEntry{RepoDigests: []string{"busybox@sha256:ef"}}, []string{"busybox <none> sha256:ef"}},
		{"nothing", imageEntry{}, []string{"<none> <none> <none>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range imageRows(tc.e) {
				got = append(got, r.Repository()+" "+r.Tag()+" "+r.Digest())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOptionFileBounds: an option's file larger than limits.MaxOptionFile
// (such as /dev/zero) is refused by name rather than read into memory; a
// long line within the bound is read whole.
func TestOptionFileBounds(t *testing.T) {
	if _, err := readEnvFile("/dev/zero", os.LookupEnv); err == nil || !strings.Contains(err.Error(), "--env-file /dev/zero: larger than") {
		t.Errorf("env file /dev/zero: %v", err)
	}
	if _, err := readLabelFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "--label-file /dev/zero: larger than") {
		t.Errorf("label file /dev/zero: %v", err)
	}
	long := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(long, []byte("A="+strings.Repeat("x", 200<<10)+"\nB=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := readEnvFile(long, os.LookupEnv)
	if err != nil || len(env) != 2 || len(env[0]) != 2+200<<10 {
		t.Errorf("a 200 KiB line: %d entries, %v", len(env), err)
	}
}

func TestHealthFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]any // options set; nil: refused
		err  string
	}{
		{[]string{"--health-cmd", "test -e /ok", "--health-interval", "2s", "--health-retries", "5"},
			map[string]any{"health_test": []string{"CMD-SHELL", "test -e /ok"}, "health_interval": int64(2 * time.Second), "health_retries": int32(5)}, ""},
		{[]string{"--health-start-period", "0s"}, map[string]any{"health_start_period": int64(0)}, ""},
		{[]string{"--no-healthcheck"}, map[string]any{"no_healthcheck": true}, ""},
		{[]string{"--health-on-failure", "restart"}, map[string]any{"health_on_failure": "restart"}, ""},
		{[]string{"--no-healthcheck", "--health-timeout", "1s"}, nil, "--no-healthcheck conflicts with --health-timeout"},
		{[]string{"--health-retries", "-2"}, nil, "--health-retries -2: cannot be negative"},
		{[]string{"--health-start-interval", "-1ms"}, nil, "--health-start-interval -1ms: cannot be negative"},
		{[]string{"--health-cmd", ""}, nil, "--health-cmd: empty command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var f healthFlags
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			o := map[string]dbus.Variant{}
			err := f.addOptions(o)
			if tc.want == nil {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(o) != len(tc.want) {
				t.Fatalf("options %v, want %v", o, tc.want)
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(o[k].Value(), v) {
					t.Fatalf("option %s = %#v, want %#v", k, o[k].Value(), v)
				}
			}
		})
	}
}
