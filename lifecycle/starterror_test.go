package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthd/berth/errs"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestStartErrorClassesTheCommand(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  string
		msg  string
		want error
	}{
		{"missing", "/nonexistent", `exec: "/nonexistent": stat /nonexistent: no such file or directory`, errs.CommandNotFound},
		{"directory", "/bin", `exec: "/bin": is a directory`, errs.CommandNotExecutable},
		// Whatever the runtime says, the file system decides.
		{"missing, other wording", "nope", "some other words", errs.CommandNotFound},
		{"present: another failure", "sh", `chdir to cwd ("/x"): no such file or directory`, errdefs.ErrInvalidArgument},
		// A failure before the runtime looked for the command.
		{"rootfs mount failed", "nope", `error during container init: error preparing rootfs: mount /srv/rootfs:/srv/rootfs, flags: 0x5000: no such file or directory`, errdefs.ErrInvalidArgument},
		// The runtime saw another file system: its words decide.
		{"present, runtime says missing", "sh", `exec: "sh": executable file not found in $PATH`, errs.CommandNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := startError(root, &specs.Process{Args: []string{tc.cmd}, Cwd: "/"}, tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := err.Error(); len(got) < len(tc.msg) || got[:len(tc.msg)] != tc.msg {
				t.Fatalf("message %q does not begin with the runtime's %q", got, tc.msg)
			}
		})
	}
}
