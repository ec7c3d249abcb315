// Package events writes berth's events (container created, started, died,
// removed, health status changed; image loaded, pulled, removed; volume
// created, destroyed; configuration reloaded) to the journal, through Emit only, so that every event has the same shape
// whichever process writes it and they outlive berthd.
//
// Every event entry carries a MESSAGE_ID (one per Kind, sd-id128 style),
// BERTH_EVENT (the action, docker's words: create, start, die, remove, load,
// pull, reload, destroy) and SYSLOG_IDENTIFIER; a volume event names its
// volume with BERTH_VOLUME_NAME. A container event names its subject
// with BERTH_CONTAINER_ID (the full id) and BERTH_CONTAINER_NAME, never with
// the fields of docker's journald log driver (CONTAINER_ID, CONTAINER_NAME,
// …): those select a container's output, and `journalctl CONTAINER_NAME=web`
// must return only what the container wrote.
//
// Emit is safe for concurrent use; it never fails (an entry that the
// journal refuses goes to stderr).
package events
