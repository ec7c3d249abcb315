package ocispec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthd/berth/errs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckExecutable(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/bin", "etc", "home/u"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/busybox", 0o755)
	write("usr/bin/data", 0o644)
	write("home/u/tool", 0o755)
	if err := os.Symlink("busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	// An absolute link resolves inside the root, not on the host.
	if err := os.Symlink("/bin/busybox", filepath.Join(root, "usr/bin/abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/../../../../bin/true", filepath.Join(root, "usr/bin/escape")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		cwd  string
		want error
	}{
		{"absolute", []string{"/bin/busybox"}, nil, "/", nil},
		{"relative link", []string{"/bin/sh"}, nil, "/", nil},
		{"absolute link", []string{"/usr/bin/abs"}, nil, "/", nil},
		{"link bounded to the root", []string{"/usr/bin/escape"}, nil, "/", errs.CommandNotFound},
		{"in default PATH", []string{"sh"}, nil, "/", nil},
		{"missing", []string{"/nonexistent"}, nil, "/", errs.CommandNotFound},
		{"missing in PATH", []string{"nonexistent"}, nil, "/", errs.CommandNotFound},
		{"directory", []string{"/etc"}, nil, "/", errs.CommandNotExecutable},
		{"not executable", []string{"/usr/bin/data"}, nil, "/", errs.CommandNotExecutable},
		{"not executable is skipped in PATH", []string{"data"}, nil, "/", errs.CommandNotFound},
		{"own PATH", []string{"tool"}, []string{"PATH=/home/u"}, "/", nil},
		{"own PATH without it", []string{"sh"}, []string{"PATH=/home/u"}, "/", errs.CommandNotFound},
		{"relative to cwd", []string{"./tool"}, nil, "/home/u", nil},
		{"empty", []string{""}, nil, "/", errs.CommandNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckExecutable(root, &specs.Process{Args: tc.args, Env: tc.env, Cwd: tc.cwd})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
