package eventlog

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/events"
	"github.com/containerd/errdefs"
	evtypes "github.com/moby/moby/api/types/events"
)

// entry is the journal entry of an event of kind k written at µs.
func entry(k events.Kind, us int64, fields ...events.Field) map[string]string {
	e := events.Entry(k, "berthd", fields...)
	e["__REALTIME_TIMESTAMP"] = strconv.FormatInt(us, 10)
	return e
}

const at = int64(1764435600123456) // µs

func f(name, value string) events.Field { return events.Field{Name: name, Value: value} }

func TestMessage(t *testing.T) {
	ctr := events.Container("c0ffee", "web")
	tests := []struct {
		name  string
		entry map[string]string
		want  evtypes.Message
		ok    bool
	}{
		{"container create with image and labels", entry(events.Created, at, append(ctr, f(events.FieldImage, "busybox"), f(events.FieldLabels, `{"app":"x","name":"not the name"}`))...),
			evtypes.Message{Type: "container", Action: "create", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web", "image": "busybox", "app": "x"}}}, true},
		{"die of an older berth: no image", entry(events.Died, at, append(ctr, events.ExitCode(3))...),
			evtypes.Message{Type: "container", Action: "die", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web", "exitCode": "3"}}}, true},
		{"container remove is destroy", entry(events.Removed, at, ctr...),
			evtypes.Message{Type: "container", Action: "destroy", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web"}}}, true},
		{"kill", entry(events.Killed, at, append(ctr, f(events.FieldSignal, "15"))...),
			evtypes.Message{Type: "container", Action: "kill", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web", "signal": "15"}}}, true},
		{"a kind this package does not know, on a container", entry(events.Kind{MessageID: "0123456789abcdef0123456789abcdef", Action: "restart"}, at, ctr...),
			evtypes.Message{Type: "container", Action: "restart", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web"}}}, true},
		{"health status", entry(events.HealthStatus("healthy"), at, append(ctr, f(events.FieldHealthStatus, "healthy"))...),
			evtypes.Message{Type: "container", Action: "health_status: healthy", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web"}}}, true},
		{"a restart by the policy is docker's start", entry(events.Restarted, at, ctr...),
			evtypes.Message{Type: "container", Action: "start", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web"}}}, true},
		{"a restart by the user", entry(events.UserRestarted, at, ctr...),
			evtypes.Message{Type: "container", Action: "restart", Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web"}}}, true},
		{"image remove is delete", entry(events.ImageRemoved, at, f(events.FieldImageID, "sha256:ab")),
			evtypes.Message{Type: "image", Action: "delete", Actor: evtypes.Actor{ID: "sha256:ab"}}, true},
		{"image load names its first tag", entry(events.ImageLoaded, at, f(events.FieldImageID, "sha256:ab"), f(events.FieldImageName, "busybox:latest a:b")),
			evtypes.Message{Type: "image", Action: "load", Actor: evtypes.Actor{ID: "sha256:ab", Attributes: map[string]string{"name": "busybox:latest"}}}, true},
		{"volume", entry(events.VolumeCreated, at, f(events.FieldVolumeName, "data")),
			evtypes.Message{Type: "volume", Action: "create", Actor: evtypes.Actor{ID: "data", Attributes: map[string]string{"driver": "local"}}}, true},
		{"network connect", entry(events.NetworkConnected, at, append([]events.Field{f(events.FieldNetworkID, "n1"), f(events.FieldNetworkName, "front")}, ctr...)...),
			evtypes.Message{Type: "network", Action: "connect", Actor: evtypes.Actor{ID: "n1", Attributes: map[string]string{"name": "front", "container": "c0ffee"}}}, true},
		{"no BERTH_EVENT", map[string]string{"MESSAGE": "hi", "__REALTIME_TIMESTAMP": "1"}, evtypes.Message{}, false},
		{"no subject", entry(events.Kind{MessageID: "0123456789abcdef0123456789abcdef", Action: "x"}, at), evtypes.Message{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Message(tt.entry)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			tt.want.Scope, tt.want.Time, tt.want.TimeNano = "local", at/1e6, at*1e3
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseEntry(t *testing.T) {
	e, err := parseEntry([]byte(`{"A":"x","B":[104,105],"C":["one","two"],"D":null,"E":[[104],"z"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "x", "B": "hi", "C": "one", "E": "h"}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %v, want %v", e, want)
	}
}

func TestFilter(t *testing.T) {
	web := evtypes.Message{Type: "container", Action: "start", Actor: evtypes.Actor{ID: "c0ffee11", Attributes: map[string]string{"name": "web", "image": "reg:5000/busybox:1", "app": "x", "tier": "front"}}}
	img := evtypes.Message{Type: "image", Action: "pull", Actor: evtypes.Actor{ID: "sha256:ab", Attributes: map[string]string{"name": "busybox:latest"}}}
	health := evtypes.Message{Type: "container", Action: "health_status: healthy", Actor: evtypes.Actor{ID: "c0ffee11", Attributes: map[string]string{"name": "web"}}}
	vol := evtypes.Message{Type: "volume", Action: "create", Actor: evtypes.Actor{ID: "data"}}
	tests := []struct {
		name    string
		filters map[string][]string
		m       evtypes.Message
		want    bool
	}{
		{"none", nil, web, true},
		{"container by name", map[string][]string{"container": {"web"}}, web, true},
		{"container by id prefix", map[string][]string{"container": {"c0f"}}, web, true},
		{"container other", map[string][]string{"container": {"db"}}, web, false},
		{"container drops image events", map[string][]string{"container": {"web"}}, img, false},
		{"any of a key's values", map[string][]string{"event": {"die", "start"}}, web, true},
		{"event other", map[string][]string{"event": {"die"}}, web, false},
		{"health_status without status", map[string][]string{"event": {"health_status"}}, health, true},
		{"type", map[string][]string{"type": {"image"}}, img, true},
		{"type other", map[string][]string{"type": {"image"}}, web, false},
		{"keys together", map[string][]string{"type": {"container"}, "event": {"start"}, "container": {"web"}}, web, true},
		{"keys together, one fails", map[string][]string{"type": {"container"}, "event": {"die"}}, web, false},
		{"label key", map[string][]string{"label": {"app"}}, web, true},
		{"label key=value", map[string][]string{"label": {"app=x"}}, web, true},
		{"every label must match", map[string][]string{"label": {"app=x", "tier=back"}}, web, false},
		{"label absent", map[string][]string{"label": {"nope"}}, web, false},
		{"image of a container, without tag", map[string][]string{"image": {"reg:5000/busybox"}}, web, true},
		{"image of an image event", map[string][]string{"image": {"busybox"}}, img, true},
		{"image by id", map[string][]string{"image": {"sha256:ab"}}, img, true},
		{"image other", map[string][]string{"image": {"alpine"}}, img, false},
		{"volume", map[string][]string{"volume": {"data"}}, vol, true},
		{"volume drops containers", map[string][]string{"volume": {"data"}}, web, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl, err := NewFilter(tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			if got := fl.Match(tt.m); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewFilterRefuses(t *testing.T) {
	for name, fl := range map[string]map[string][]string{
		"unknown key":  {"colour": {"red"}},
		"unknown type": {"type": {"boat"}},
		"empty value":  {"container": {""}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewFilter(fl); !errdefs.IsInvalidArgument(err) {
				t.Errorf("err = %v, want InvalidArgument", err)
			}
		})
	}
}

// fakeJournal writes a journalctl that prints lines and records its
// arguments.
func fakeJournal(t *testing.T, lines ...map[string]string) (prog, argsFile string) {
	return fakeJournalThen(t, "", lines...)
}

// fakeJournalThen runs then after printing the lines.
func fakeJournalThen(t *testing.T, then string, lines ...map[string]string) (prog, argsFile string) {
	dir := t.TempDir()
	var out []byte
	for _, l := range lines {
		b, _ := json.Marshal(l)
		out = append(append(out, b...), '\n')
	}
	data := filepath.Join(dir, "out")
	argsFile = filepath.Join(dir, "args")
	if err := os.WriteFile(data, append(out, "not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	prog = filepath.Join(dir, "journalctl")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\ncat " + data + "\n" + then + "\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, argsFile
}

func TestReadPast(t *testing.T) {
	ctr := events.Container("c0ffee", "web")
	prog, argsFile := fakeJournal(t,
		entry(events.Created, at-2e6, ctr...), // before since
		entry(events.Started, at, ctr...),
		map[string]string{"MESSAGE": "a log line of berthd", "__REALTIME_TIMESTAMP": strconv.FormatInt(at, 10)},
		entry(events.VolumeCreated, at+1, f(events.FieldVolumeName, "data")),
		entry(events.Died, at+2, append(ctr, events.ExitCode(0))...),
		entry(events.Removed, at+5e6, ctr...), // after until
	)
	fl, err := NewFilter(map[string][]string{"type": {"container"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = Read(t.Context(), Options{Since: time.UnixMicro(at - 1e6), Until: time.UnixMicro(at + 1e6), Filter: fl, Journalctl: prog},
		func(m evtypes.Message) error {
			got = append(got, string(m.Action))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"start", "die"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	args, _ := os.ReadFile(argsFile)
	want := "--output=json --no-pager --lines=all --since=@1764435599 --until=@1764435602 _UID=0 SYSLOG_IDENTIFIER=berthd SYSLOG_IDENTIFIER=berth-monitor\n"
	if string(args) != want {
		t.Errorf("journalctl args %q, want %q", args, want)
	}
}

func TestReadJournalctlFails(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "journalctl")
	os.WriteFile(prog, []byte("#!/bin/sh\necho 'Failed to open journal' >&2\nexit 1\n"), 0o755)
	err := Read(context.Background(), Options{Since: time.Unix(1, 0), Until: time.Unix(2, 0), Journalctl: prog}, func(evtypes.Message) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Failed to open journal") {
		t.Errorf("err = %v, want journalctl's message", err)
	}
}

func TestReadFollowsUntil(t *testing.T) {
	prog, argsFile := fakeJournalThen(t, "exec sleep 60", entry(events.Started, at, events.Container("c0ffee", "web")...))
	start := time.Now()
	var got []string
	err := Read(t.Context(), Options{Since: time.UnixMicro(at - 1), Until: start.Add(300 * time.Millisecond), Journalctl: prog},
		func(m evtypes.Message) error {
			got = append(got, string(m.Action))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("follow ended after %v, want at until (300ms)", d)
	}
	if !reflect.DeepEqual(got, []string{"start"}) {
		t.Errorf("got %v", got)
	}
	if args, _ := os.ReadFile(argsFile); !strings.Contains(string(args), "--follow") {
		t.Errorf("journalctl args %q: no --follow", args)
	}
}
