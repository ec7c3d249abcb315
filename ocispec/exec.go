package ocispec

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/berthd/berth/errs"
	"github.com/containerd/continuity/fs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CheckExecutable looks p's executable up in the root file system rootfs
// as the runtime does inside the container (a name with a slash relative
// to p.Cwd, any other name along p's PATH, symbolic links bounded to
// rootfs). It returns nil when an executable file is there, an error
// wrapping errs.CommandNotFound when nothing is, and one wrapping
// errs.CommandNotExecutable when a directory or a file without execute
// permission is. It only reads; use it to class a start the runtime
// refused.
func CheckExecutable(rootfs string, p *specs.Process) error {
	if p == nil || len(p.Args) == 0 || p.Args[0] == "" {
		return fmt.Errorf("no command: %w", errs.CommandNotFound)
	}
	name := p.Args[0]
	if strings.Contains(name, "/") {
		if !path.IsAbs(name) {
			name = path.Join("/", p.Cwd, name)
		}
		return checkFile(rootfs, name, p.Args[0])
	}
	for _, dir := range strings.Split(envPath(p.Env), ":") {
		if dir == "" {
			dir = "."
		}
		if !path.IsAbs(dir) {
			dir = path.Join("/", p.Cwd, dir)
		}
		if checkFile(rootfs, path.Join(dir, name), name) == nil {
			return nil
		}
	}
	return fmt.Errorf("%q: not in $PATH: %w", name, errs.CommandNotFound)
}

func envPath(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return strings.TrimPrefix(DefaultPath, "PATH=")
}

func checkFile(rootfs, name, asGiven string) error {
	full, err := fs.RootPath(rootfs, name)
	if err != nil {
		return fmt.Errorf("%q: %v: %w", asGiven, err, errs.CommandNotFound)
	}
	st, err := os.Stat(full)
	switch {
	case err != nil:
		return fmt.Errorf("%q: no such file or directory: %w", asGiven, errs.CommandNotFound)
	case st.IsDir():
		return fmt.Errorf("%q: is a directory: %w", asGiven, errs.CommandNotExecutable)
	case st.Mode()&0o111 == 0 || !st.Mode().IsRegular():
		return fmt.Errorf("%q: permission denied: %w", asGiven, errs.CommandNotExecutable)
	}
	return nil
}
