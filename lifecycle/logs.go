package lifecycle

import (
	"context"
	"fmt"
	"os"

	"github.com/berthd/berth/logs"
)

// Logs opens a stream of the container's local log (package logs' frames)
// for both edges. A follow of a container that is not running reads what
// there is and ends, as docker logs -f; a follow of a running one ends
// when the container exits (its monitor wrote every line before the exit
// was recorded). done is called once when the stream ends, also when Logs
// fails; a stream in flight keeps the caller's idle tracker busy through
// it.
func (m *Manager) Logs(ctx context.Context, ref string, o logs.Options, done func()) (*os.File, error) {
	info, err := m.Get(ref)
	if err != nil {
		done()
		return nil, err
	}
	if !info.StartedAt().IsZero() {
		o.Missing = fmt.Sprintf("berth: container %s has no local log (it ran under an older berth); its output is in the journal: journalctl CONTAINER_ID_FULL=%s", info.Name, info.ID)
	}
	if o.Follow && !info.State.Live() {
		o.Follow = false // nothing more will come
	}
	end := done
	if o.Follow {
		stop := make(chan struct{})
		wctx, wcancel := context.WithCancel(context.Background())
		go func() {
			if _, err := m.Wait(wctx, info.ID); err == nil {
				close(stop)
			}
		}()
		o.Stop = stop
		end = func() { wcancel(); done() }
	}
	f, err := logs.Open(ctx, m.LogPath(info.ID), o, end)
	if err != nil {
		end()
		return nil, err
	}
	return f, nil
}

// ContainerDir is the container's directory under data-root (its record,
// etc files and local log).
func (m *Manager) ContainerDir(id string) string { return m.containerDir(id) }
