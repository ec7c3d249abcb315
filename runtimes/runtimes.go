// Package runtimes makes the wrapper scripts for OCI runtimes configured
// with arguments, and removes the ones nothing uses any more.
//
// A wrapper is "#!/bin/sh", then one exec line: the runtime binary and each
// configured argument single-quoted for the shell, then "$@". Its file name
// is "<runtime name>-<sha256 hex of the contents>" in the wrapper directory
// (exec-root/runtimes), so a wrapper is never rewritten: a changed runtime
// gets a new file, and a container that recorded the old path keeps it.
//
// Invariants: Ensure writes atomically (temp file, fsync, rename) and reuses
// an existing file only if its contents hash to its name; Clean removes
// only files that look like wrappers and are not in the keep set.
package runtimes

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berthd/berth/atomicfile"
)

// Dir is where wrappers live below exec-root.
const Dir = "runtimes"

// Wrapper is a wrapper script and the path it belongs at.
type Wrapper struct {
	Name     string // runtime name
	Path     string // dir/<name>-<sha256 hex of Contents>
	Contents []byte
}

// Quote returns s as one word for a POSIX shell: in single quotes, with
// each single quote written as '\”. Every other byte, newlines included,
// stands for itself inside single quotes.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Script returns the wrapper contents for binary with args.
func Script(binary string, args []string) []byte {
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\nexec ")
	b.WriteString(Quote(binary))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(Quote(a))
	}
	b.WriteString(" \"$@\"\n")
	return b.Bytes()
}

// New describes the wrapper of runtime name (binary with args) in dir.
func New(dir, name, binary string, args []string) Wrapper {
	c := Script(binary, args)
	sum := sha256.Sum256(c)
	return Wrapper{Name: name, Path: filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:])), Contents: c}
}

// Ensure makes sure w exists with its contents. An existing file is kept
// if its contents match its name's digest and replaced atomically if not
// (a damaged file; never a live one, since the name fixes the contents).
func Ensure(w Wrapper) error {
	if old, err := os.ReadFile(w.Path); err == nil && bytes.Equal(old, w.Contents) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(w.Path), 0o700); err != nil {
		return fmt.Errorf("runtime %s: wrapper directory: %w", w.Name, err)
	}
	if err := atomicfile.Write(w.Path, w.Contents, 0o700); err != nil {
		return fmt.Errorf("runtime %s: write wrapper %s: %w", w.Name, w.Path, err)
	}
	return nil
}

var wrapperRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*-[0-9a-f]{64}$`)

// Clean removes the wrappers in dir whose paths are not in keep and
// returns the paths removed. Files that do not look like wrappers are left
// alone; leftover temporary files of an interrupted write are removed.
func Clean(dir string, keep map[string]bool) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // for root only; tightens an older one
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		tmp := atomicfile.IsTemp(e.Name())
		if keep[p] || e.IsDir() || (!tmp && !wrapperRE.MatchString(e.Name())) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
