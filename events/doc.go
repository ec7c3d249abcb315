// Package events writes berth's events (container created, started,
// killed, died, stopped, paused, unpaused, restarted, removed, health
// status changed; image loaded, pulled, tagged, untagged, removed; volume
// and network events; configuration reloaded) to the journal, through
// Emit only, so that every event has the same shape whichever process
// writes it and they outlive berthd. Package eventlog reads them back as
// docker's events.
//
// Every event entry carries a MESSAGE_ID (one per Kind, sd-id128 style),
// BERTH_EVENT (the action, docker's words: create, start, die, remove, load,
// pull, reload, destroy) and SYSLOG_IDENTIFIER; a volume event names its
// volume with BERTH_VOLUME_NAME. A container event names its subject
// with BERTH_CONTAINER_ID (the full id) and BERTH_CONTAINER_NAME, and
// (ContainerWith) its image and labels with BERTH_IMAGE and BERTH_LABELS,
// never with the fields of docker's journald log driver (CONTAINER_ID,
// CONTAINER_NAME, IMAGE_NAME, …): those select a container's output, and
// `journalctl CONTAINER_NAME=web` must return only what the container
// wrote. A Kind of its own MESSAGE_ID whose entries name a container is
// read back as a container event with no change in eventlog.
//
// Emit is safe for concurrent use; it never fails (an entry that the
// journal refuses goes to stderr).
package events
