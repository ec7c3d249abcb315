package events

import "testing"

func TestEntry(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		fields []Field
		want   map[string]string
	}{
		{"died", Died, append(Container("abc", "web"), ExitCode(3)), map[string]string{
			"MESSAGE_ID": Died.MessageID, "BERTH_EVENT": "die", "SYSLOG_IDENTIFIER": "berthd",
			"BERTH_CONTAINER_ID": "abc", "BERTH_CONTAINER_NAME": "web", "EXIT_CODE": "3"}},
		{"fields cannot override the kind", Reloaded, []Field{{"MESSAGE_ID", "x"}, {"BERTH_EVENT", "y"}}, map[string]string{
			"MESSAGE_ID": Reloaded.MessageID, "BERTH_EVENT": "reload", "SYSLOG_IDENTIFIER": "berthd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Entry(tt.kind, "berthd", tt.fields...)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, f := range []string{"CONTAINER_ID", "CONTAINER_ID_FULL", "CONTAINER_NAME"} {
				if _, ok := got[f]; ok {
					t.Errorf("event carries the output field %s", f)
				}
			}
		})
	}
}

// The observer sees what Emit writes and what Observed is given, as
// Entry's fields; nil stops it.
func TestObserve(t *testing.T) {
	var got []map[string]string
	Observe(func(e map[string]string) { got = append(got, e) })
	defer Observe(nil)
	Emit(Started, "berthd", "container c: start", Container("abc", "c")...)
	Observed(Entry(HealthStatus("healthy"), "berth-monitor", Container("abc", "c")...))
	if len(got) != 2 || got[0][FieldEvent] != "start" || got[0][FieldContainerID] != "abc" ||
		got[1][FieldEvent] != "health_status: healthy" || got[1]["SYSLOG_IDENTIFIER"] != "berth-monitor" {
		t.Fatalf("observed %v", got)
	}
	Observe(nil)
	Emit(Started, "berthd", "container c: start", Container("abc", "c")...)
	if len(got) != 2 {
		t.Fatalf("observed after Observe(nil): %v", got[2:])
	}
}
