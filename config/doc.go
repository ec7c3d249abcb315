// Package config reads berth's TOML configuration into an immutable
// Snapshot.
//
// Files: /etc/berth/berth.toml, then /etc/berth/berth.toml.d/*.toml in
// lexical order; later files win per key and tables merge by key. No file at
// all is valid: every key has a default. Parsing is strict: an unknown key is
// an error that names the file, line and key.
//
// Invariants: a Snapshot is never modified after Load returns it; callers
// take one at the start of a request and pass it down, and a newer snapshot
// is swapped in whole (see Live). Errors from Load wrap
// errdefs.ErrInvalidArgument and carry "file:line: reason".
//
// Schema documents every key (type, default, meaning) from keyDocs and the
// Go types; the installed conffile (Conffile) and berth.toml(5) are
// generated from it, and a test fails when a toml key has no entry.
package config
