// Package events names berth's journal events. Every event is a journal
// entry with one of these MESSAGE_IDs and the fields BERTH_EVENT,
// CONTAINER_ID_FULL and CONTAINER_NAME (plus EXIT_CODE for Died), so that
// `journalctl MESSAGE_ID=…` finds them whether berthd or a monitor wrote
// them, and they outlive berthd.
package events

// Message ids (sd-id128 style, lower-case hex without dashes).
const (
	Created  = "3485d3c65caa4ae687b26f0213d8a17d"
	Started  = "a7cbd94492ba43498115efe9f7f7ef8c"
	Died     = "751fa0accfa44ea1a9b99138d411e217"
	Removed  = "7134ed75d1744c27ab7d3818e90a1500"
	Reloaded = "352bc72e710d487b95dce3f5d8132b33"
	// ImageEvent is an image loaded, pulled or removed (BERTH_EVENT says
	// which; IMAGE_ID names it).
	ImageEvent = "5b0c1e4a9d7f4e6c8a2b3f1d0e9c7a64"
)

// Field names.
const (
	FieldEvent    = "BERTH_EVENT"
	FieldExitCode = "EXIT_CODE"
)
