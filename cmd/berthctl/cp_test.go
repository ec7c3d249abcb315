package main

import "testing"

func TestSplitCpArg(t *testing.T) {
	for _, tc := range []struct{ arg, ctr, path string }{
		{"c:/tmp/x", "c", "/tmp/x"},
		{"c:tmp", "c", "tmp"},
		{"/abs/with:colon", "", "/abs/with:colon"},
		{"./rel:colon", "", "./rel:colon"},
		{"local", "", "local"},
		{"-", "", "-"},
		{"c:", "c", ""},
	} {
		ctr, path := splitCpArg(tc.arg)
		if ctr != tc.ctr || path != tc.path {
			t.Errorf("splitCpArg(%q) = %q, %q; want %q, %q", tc.arg, ctr, path, tc.ctr, tc.path)
		}
	}
}
