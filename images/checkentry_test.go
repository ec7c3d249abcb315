package images

import (
	"archive/tar"
	"testing"

	"github.com/containerd/errdefs"
)

func TestCheckEntry(t *testing.T) {
	for _, tc := range []struct {
		hdr  tar.Header
		want string // "" accepted
	}{
		{tar.Header{Name: "a/b", Typeflag: tar.TypeReg}, ""},
		{tar.Header{Name: "./a", Typeflag: tar.TypeDir}, ""},
		{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, ""},
		{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "a/b"}, ""},
		{tar.Header{Name: "../x", Typeflag: tar.TypeReg}, `entry "../x": leaves the destination ("..")`},
		{tar.Header{Name: "a/../../x", Typeflag: tar.TypeReg}, `entry "a/../../x": leaves the destination ("..")`},
		{tar.Header{Name: "/etc/x", Typeflag: tar.TypeReg}, `entry "/etc/x": is an absolute path`},
		{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"}, `entry "h": hard link target leaves the destination ("..")`},
		{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}, `entry "h": hard link target is an absolute path`},
		{tar.Header{Name: "mem", Typeflag: tar.TypeChar}, `entry "mem": device nodes are not allowed`},
		{tar.Header{Name: "sda", Typeflag: tar.TypeBlock}, `entry "sda": device nodes are not allowed`},
	} {
		err := CheckEntry(&tc.hdr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.hdr.Name, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errdefs.IsInvalidArgument(err)):
			t.Errorf("%s: got %v, want %q (invalid argument)", tc.hdr.Name, err, tc.want)
		}
	}
}
