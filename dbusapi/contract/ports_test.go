package contract

import "testing"

func TestPortsColumn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []PortEntry
		want  string
	}{
		{"none", nil, ""},
		{"published", []PortEntry{{"0.0.0.0", 80, 8080, "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{"exposed", []PortEntry{{"", 443, 0, "tcp"}}, "443/tcp"},
		{"both, mapped last", []PortEntry{{"0.0.0.0", 80, 8080, "tcp"}, {"", 443, 0, "tcp"}}, "443/tcp, 0.0.0.0:8080->80/tcp"},
		{"exposed range", []PortEntry{{"", 81, 0, "tcp"}, {"", 80, 0, "tcp"}, {"", 82, 0, "tcp"}, {"", 53, 0, "udp"}}, "53/udp, 80-82/tcp"},
		{"same port range", []PortEntry{{"0.0.0.0", 80, 80, "tcp"}, {"0.0.0.0", 81, 81, "tcp"}}, "0.0.0.0:80-81->80-81/tcp"},
		{"gap", []PortEntry{{"", 80, 0, "tcp"}, {"", 82, 0, "tcp"}}, "80/tcp, 82/tcp"},
		{"host address", []PortEntry{{"127.0.0.1", 80, 9000, "udp"}}, "127.0.0.1:9000->80/udp"},
		{"two mapped", []PortEntry{{"0.0.0.0", 81, 9001, "tcp"}, {"0.0.0.0", 80, 9000, "tcp"}}, "0.0.0.0:9000->80/tcp, 0.0.0.0:9001->81/tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PortsColumn(tc.ports); got != tc.want {
				t.Errorf("PortsColumn = %q, want %q", got, tc.want)
			}
		})
	}
}
