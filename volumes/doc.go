// Package volumes is the store of named volumes (docker's "local" driver):
// directories under data-root that outlive the containers that mount them.
//
// On-disk layout:
//
//	<data-root>/volumes/                    0700, for root only
//	<data-root>/volumes/<name>/volume.json  Volume (format version, labels…)
//	<data-root>/volumes/<name>/_data/       what containers see
//	<data-root>/volumes/.staging-*/         a create under way
//	<data-root>/volumes/.trash-*/           a removal under way
//
// A volume appears and disappears with one rename: a create builds
// volume.json and _data in a staging directory and renames it to its
// name; a removal renames it to a trash directory and then deletes that.
// Open deletes what a crash left in staging or trash, so a volume is
// either complete or absent. Names are docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]+,
// so they never clash with the dot-prefixed directories.
//
// References: the store counts, per volume, the containers that use it
// (Acquire, Release), in memory; package lifecycle rebuilds the counts from
// its records when berthd starts. A volume with users is removed only with
// force, and never while the caller's live function says one of its users
// runs.
//
// Errors: a missing volume wraps errs.NoSuchVolume, a bad name or option
// errdefs.ErrInvalidArgument, a volume in use errdefs.ErrConflict.
//
// Concurrency: a Store is safe for concurrent use; one mutex guards the
// records and counts and is held across the renames, never across a copy
// or a deletion of content. The live function passed to Remove is called
// with that mutex held and must not call back into the store.
package volumes
