package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/config"
	"github.com/berthd/berth/lifecycle"
)

// DefaultRootsFile records the data-root and exec-root in use. It lives at
// a fixed place, outside both, so that a changed data-root is noticed.
const DefaultRootsFile = "/var/lib/berth/roots.json"

const rootsVersion = 1

type roots struct {
	Version  int    `json:"version"`
	DataRoot string `json:"data-root"`
	ExecRoot string `json:"exec-root"`
}

// checkRoots compares the snapshot's roots with the recorded ones. A change
// is accepted (and recorded) only while no container exists under the
// recorded data-root; otherwise berthd refuses to start, saying why, rather
// than losing sight of those containers.
func checkRoots(file string, snap *config.Snapshot) error {
	want := roots{Version: rootsVersion, DataRoot: snap.DataRoot, ExecRoot: snap.ExecRoot}
	// berthd checks the record as it starts, its only writer: a temporary
	// file beside it is a write cut short by a kill.
	if _, err := atomicfile.RemoveTemps(filepath.Dir(file)); err != nil {
		return fmt.Errorf("roots record: %w", err)
	}
	have, found, err := readRoots(file)
	if err != nil {
		return err
	}
	if found {
		if have.DataRoot == want.DataRoot && have.ExecRoot == want.ExecRoot {
			return os.Chmod(file, 0o600) // for root only; tightens an older one
		}
		n, err := lifecycle.CountContainers(have.DataRoot)
		if err != nil {
			return fmt.Errorf("roots record %s: count containers under %s: %w", file, have.DataRoot, err)
		}
		if n > 0 {
			key, old, cur := "data-root", have.DataRoot, want.DataRoot
			if have.DataRoot == want.DataRoot {
				key, old, cur = "exec-root", have.ExecRoot, want.ExecRoot
			}
			where := snap.Position(key)
			if where == "" {
				where = "defaults"
			}
			return fmt.Errorf("%s: %s is %q but %d container(s) exist under the roots in use (%s, %s; recorded in %s): "+
				"set %s back to %q, or remove those containers with the old setting first",
				where, key, cur, n, have.DataRoot, have.ExecRoot, file, key, old)
		}
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o711); err != nil {
		return fmt.Errorf("roots record: %w", err)
	}
	return atomicfile.WriteJSON(file, want, 0o600)
}

// readRoots reads the roots record; found is false when there is none.
func readRoots(file string) (r roots, found bool, err error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("roots record: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, false, fmt.Errorf("roots record %s: %w", file, err)
	}
	return r, true, nil
}
