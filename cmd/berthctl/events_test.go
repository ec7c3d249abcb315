package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	evtypes "github.com/moby/moby/api/types/events"
)

func TestEventPrinters(t *testing.T) {
	at := time.Date(2026, 11, 29, 17, 0, 0, 5, time.UTC)
	m := evtypes.Message{Type: "container", Action: "die", Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano(),
		Actor: evtypes.Actor{ID: "c0ffee", Attributes: map[string]string{"name": "web", "image": "busybox", "exitCode": "3"}}}
	tests := []struct{ format, want string }{
		{"", at.Local().Format(eventTimeLayout) + " container die c0ffee (exitCode=3, image=busybox, name=web)\n"},
		{"json", `{"Type":"container","Action":"die","Actor":{"ID":"c0ffee","Attributes":{"exitCode":"3","image":"busybox","name":"web"}},"scope":"local","time":` +
			"1795971600" + `,"timeNano":1795971600000000005}` + "\n"},
		{"{{.Action}} {{.Actor.Attributes.name}}", "die web\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			p, err := newEventPrinter(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := p(&b, m); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q\nwant %q", b.String(), tt.want)
			}
		})
	}
	if _, err := newEventPrinter("{{.Action"); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("a bad template: err = %v", err)
	}
}

func TestEventsOptions(t *testing.T) {
	now := time.Unix(1796058000, 0)
	o, err := (&eventsFlags{since: "10m", until: "1796058000", filters: []string{"type=container", "label=a=b"}}).options(now)
	if err != nil {
		t.Fatal(err)
	}
	if got := o["since"].Value().(int64); got != now.Add(-10*time.Minute).UnixMicro() {
		t.Errorf("since = %d", got)
	}
	if got := o["until"].Value().(int64); got != now.UnixMicro() {
		t.Errorf("until = %d", got)
	}
	if got := o["filter"].Value().([]string); len(got) != 2 {
		t.Errorf("filter = %v", got)
	}
	for name, f := range map[string]eventsFlags{
		"bad since":          {since: "yesterday"},
		"until before since": {since: "1796058000", until: "1796057000"},
		"filter without =":   {filters: []string{"container"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.options(now); err == nil {
				t.Error("accepted")
			}
		})
	}
}
