// Package atomicfile writes files so that readers see the old content or
// the new, never a mix: a temporary file in the same directory, fsync,
// rename, then fsync of the directory. The directory must exist; a missing
// directory is an error (so a record removed meanwhile is not recreated).
package atomicfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
)

// Write replaces path with data.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteJSON replaces path with the indented JSON form of v.
func WriteJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return Write(path, append(data, '\n'), perm)
}

// tempInfix is between the target's name and CreateTemp's random digits
// in a temporary file's name: ".NAME.tmpDIGITS".
const tempInfix = ".tmp"

var tempRE = regexp.MustCompile(`^\..+\.tmp[0-9]+$`)

// IsTemp reports whether name (a base name) is that of a temporary file
// Write makes, which only a writer killed between its create and rename
// leaves behind.
func IsTemp(name string) bool { return tempRE.MatchString(name) }

// RemoveTemps removes the temporary files of interrupted writes in dir (not
// below it) and returns how many it removed. Call it only where no Write
// into dir can be in progress, such as when the one process that writes
// there starts; an absent dir is no error.
func RemoveTemps(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !IsTemp(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
