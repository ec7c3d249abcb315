package events

import (
	"encoding/json"
	"strconv"
	"sync/atomic"

	"github.com/berthd/berth/systemd"
)

// Kind is one kind of event: its MESSAGE_ID and its BERTH_EVENT action.
type Kind struct {
	MessageID string
	Action    string
}

// The events. Image events share one MESSAGE_ID; BERTH_EVENT tells them
// apart.
var (
	Created = Kind{"3485d3c65caa4ae687b26f0213d8a17d", "create"}
	Started = Kind{"a7cbd94492ba43498115efe9f7f7ef8c", "start"}
	Died    = Kind{"751fa0accfa44ea1a9b99138d411e217", "die"}
	// Restarted: the monitor started the payload again (restart policy).
	// Read back as docker's events, it is a "start" (dockerd logs a
	// policy restart as die, start); its journal entry says restart and
	// carries RESTART_COUNT.
	Restarted = Kind{"0c6f3d9e2b8a4f51a7e4d6c28b93f1a5", "restart"}
	// UserRestarted ends a restart by the user (berthctl restart, docker
	// restart): docker's kill, die, stop, start, then restart.
	UserRestarted = Kind{"5b2e81c4d07f4a9e9c3f6a1d8e27b450", "restart"}
	Removed       = Kind{"7134ed75d1744c27ab7d3818e90a1500", "remove"}
	Reloaded      = Kind{"352bc72e710d487b95dce3f5d8132b33", "reload"}
	Renamed       = Kind{"16857fc6daef4f07a910727d3cb67c35", "rename"}
	Committed     = Kind{"97c543eb6bc544faaab1c11dbb9e2cae", "commit"}
	// Stopped is a stop that berth carried out (berthctl stop, restart),
	// written once the container has died; Killed is a signal sent to
	// the payload by a kill or a stop (BERTH_SIGNAL, its number).
	Stopped      = Kind{"2df67387545840408700fd0ab58dd92a", "stop"}
	Killed       = Kind{"e632131a5bdc43f2be0220f46f04bc8e", "kill"}
	Paused       = Kind{"ceae6cc2a8cf42d1a55a0cad1c91071b", "pause"}
	Unpaused     = Kind{"f5d0aa6b0fe14741be7fe92241114d9c", "unpause"}
	ImageLoaded  = Kind{imageEvent, "load"}
	ImagePulled  = Kind{imageEvent, "pull"}
	ImageRemoved = Kind{imageEvent, "remove"}
	// ImageTagged and ImageUntagged name the image (IMAGE_ID) and the
	// name given or taken (IMAGE_NAME).
	ImageTagged   = Kind{imageEvent, "tag"}
	ImageUntagged = Kind{imageEvent, "untag"}
	// Volume events (docker's actions: create, destroy) share one
	// MESSAGE_ID.
	VolumeCreated   = Kind{volumeEvent, "create"}
	VolumeDestroyed = Kind{volumeEvent, "destroy"}
	// Network events (docker's actions: create, destroy, connect,
	// disconnect) share one MESSAGE_ID.
	NetworkCreated      = Kind{networkEvent, "create"}
	NetworkDestroyed    = Kind{networkEvent, "destroy"}
	NetworkConnected    = Kind{networkEvent, "connect"}
	NetworkDisconnected = Kind{networkEvent, "disconnect"}
)

// HealthStatus is the event of a container whose health status changed
// to status (starting, healthy, unhealthy): docker's action
// "health_status: STATUS". All share one MESSAGE_ID; the entry also
// carries the status alone in BERTH_HEALTH_STATUS.
func HealthStatus(status string) Kind {
	return Kind{healthEvent, "health_status: " + status}
}

const (
	healthEvent  = "0e5a3b7c2d914f6e8b1a4c9d7e2f6a35"
	imageEvent   = "5b0c1e4a9d7f4e6c8a2b3f1d0e9c7a64"
	volumeEvent  = "b8a5e33fa631406689afb63e7dd4cc15"
	networkEvent = "e1c1a5f0b7d24e8f9a3c6d2b4f8e0a17"
)

// Field names of event entries.
const (
	FieldEvent         = "BERTH_EVENT"
	FieldContainerID   = "BERTH_CONTAINER_ID"
	FieldContainerName = "BERTH_CONTAINER_NAME"
	FieldExitCode      = "EXIT_CODE"
	FieldImageID       = "IMAGE_ID"
	FieldImageName     = "IMAGE_NAME"
	FieldVolumeName    = "BERTH_VOLUME_NAME"
	FieldOldName       = "BERTH_OLD_NAME"
	FieldNetworkID     = "BERTH_NETWORK_ID"
	FieldNetworkName   = "BERTH_NETWORK_NAME"
	FieldHealthStatus  = "BERTH_HEALTH_STATUS"
	// FieldImage is a container event's image as the container was
	// created from it (a name, or the id); not IMAGE_NAME, which selects
	// a container's output in docker's journald fields.
	FieldImage = "BERTH_IMAGE"
	// FieldLabels is a container event's labels, a JSON object.
	FieldLabels = "BERTH_LABELS"
	// FieldSignal is a kill event's signal number.
	FieldSignal = "BERTH_SIGNAL"
)

// Field is one journal field of an event; Name is upper case.
type Field struct{ Name, Value string }

// Container names the subject container of an event.
func Container(id, name string) []Field {
	return []Field{{FieldContainerID, id}, {FieldContainerName, name}}
}

// ContainerWith names the subject container with its image and labels
// (BERTH_IMAGE, BERTH_LABELS as JSON), which docker's events carry as
// attributes and filter on; empty ones are left out.
func ContainerWith(id, name, image string, labels map[string]string) []Field {
	f := Container(id, name)
	if image != "" {
		f = append(f, Field{FieldImage, image})
	}
	if len(labels) > 0 {
		if b, err := json.Marshal(labels); err == nil {
			f = append(f, Field{FieldLabels, string(b)})
		}
	}
	return f
}

// ExitCode is the exit code of a died event.
func ExitCode(code int) Field { return Field{FieldExitCode, strconv.Itoa(code)} }

// Entry returns the journal fields of an event: fields, then MESSAGE_ID,
// BERTH_EVENT and SYSLOG_IDENTIFIER (ident), which fields cannot override.
func Entry(k Kind, ident string, fields ...Field) map[string]string {
	vars := make(map[string]string, len(fields)+3)
	for _, f := range fields {
		vars[f.Name] = f.Value
	}
	vars["MESSAGE_ID"] = k.MessageID
	vars[FieldEvent] = k.Action
	vars["SYSLOG_IDENTIFIER"] = ident
	return vars
}

// Emit writes one event entry at priority info with message msg. ident is
// the writing program (berthd, berth-monitor). The observer, if any, sees
// the entry after the journal.
func Emit(k Kind, ident, msg string, fields ...Field) {
	e := Entry(k, ident, fields...)
	systemd.Log(systemd.PriInfo, msg, e)
	Observed(e)
}

var observer atomic.Pointer[func(entry map[string]string)]

// Observe makes f see the entry (Entry's fields; f must not change them)
// of every event this process emits, and of those Observed is given, as
// they happen; nil stops it. f is called on the emitting goroutine and must
// not block: berthd sends its D-Bus Event signal from it.
func Observe(f func(entry map[string]string)) {
	if f == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&f)
}

// Observed hands the observer an event that another process wrote to the
// journal and this one learned of (a health status change a monitor
// reported to berthd), without writing it again.
func Observed(entry map[string]string) {
	if f := observer.Load(); f != nil {
		(*f)(entry)
	}
}
