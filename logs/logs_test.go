package logs

import (
	"testing"

	"github.com/berthd/berth/stream"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		kind       stream.Kind
		msg        string
		ok         bool
	}{
		{"stdout", `{"MESSAGE":"hi","PRIORITY":"6"}`, stream.Stdout, "hi\n", true},
		{"stderr", `{"MESSAGE":"oops","PRIORITY":"3"}`, stream.Stderr, "oops\n", true},
		{"partial", `{"MESSAGE":"abc","PRIORITY":"6","CONTAINER_PARTIAL_MESSAGE":"true"}`, stream.Stdout, "abc", true},
		{"binary", `{"MESSAGE":[104,255],"PRIORITY":"6"}`, stream.Stdout, "h\xff\n", true},
		{"no message", `{"PRIORITY":"6"}`, 0, "", false},
		{"garbage", `{`, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, m, ok := Decode([]byte(tc.line))
			if ok != tc.ok || (ok && (k != tc.kind || string(m) != tc.msg)) {
				t.Fatalf("got %v %q %v", k, m, ok)
			}
		})
	}
}
