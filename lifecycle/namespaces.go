package lifecycle

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthd/berth/ocispec"
	"github.com/containerd/errdefs"
)

// resolveJoins reads docker's --pid container:NAME and --ipc
// container:NAME at create: the other container must exist (its full id
// is recorded, so a rename of it changes nothing) and, for --ipc, have a
// shareable IPC namespace (--ipc shareable, docker's rule). Errors name
// the option: errs.NoSuchContainer, errdefs.ErrFailedPrecondition.
func (m *Manager) resolveJoins(spec *Spec) error {
	for _, j := range []struct {
		what string
		mode *string
	}{{"pid", &spec.PidMode}, {"ipc", &spec.IpcMode}} {
		ref, ok := strings.CutPrefix(*j.mode, "container:")
		if !ok {
			continue
		}
		other, err := m.Get(ref)
		if err != nil {
			return fmt.Errorf("%s %s: %w", j.what, quote(*j.mode), err)
		}
		if j.what == "ipc" && other.Spec.IpcMode != "shareable" {
			return fmt.Errorf("ipc %s: container %s has a non-shareable IPC namespace (create it with --ipc shareable): %w",
				quote(*j.mode), other.Name, errdefs.ErrFailedPrecondition)
		}
		*j.mode = "container:" + other.ID
	}
	return nil
}

// joinNamespaces points so at the namespaces of the containers that
// spec's --pid and --ipc container:ID join: their payload's
// /proc/<pid>/ns/pid and ns/ipc. The other container must be running or
// paused (errdefs.ErrConflict otherwise). Its /dev/shm is not shared:
// it is a tmpfs inside its own mount namespace, which a mount cannot
// take from (docker keeps a shareable one on the host); the joiner has
// its own.
func (m *Manager) joinNamespaces(spec Spec, so *ocispec.Options) error {
	for _, j := range []struct {
		what, mode, ns string
		path           *string
	}{{"PID", spec.PidMode, "pid", &so.JoinPid}, {"IPC", spec.IpcMode, "ipc", &so.JoinIpc}} {
		id, ok := strings.CutPrefix(j.mode, "container:")
		if !ok {
			continue
		}
		other, err := m.Get(id)
		if err != nil {
			return fmt.Errorf("cannot join the %s namespace of container %s: %w", j.what, id, err)
		}
		if (other.State != Running && other.State != Paused) || other.Pid <= 0 {
			return fmt.Errorf("cannot join the %s namespace of container %s: it is not running (%s): %w", j.what, other.Name, other.State, errdefs.ErrConflict)
		}
		*j.path = "/proc/" + strconv.Itoa(other.Pid) + "/ns/" + j.ns
	}
	return nil
}
