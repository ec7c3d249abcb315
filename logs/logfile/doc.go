// Package logfile is the local copy of a container's output: the file that
// `berthctl logs` reads, written by the container's berth-monitor before
// (and besides) the journal, in the spirit of docker's "local" log format
// and its dual logging. The journal may drop lines (journald's rate limit);
// this copy does not, within its size cap.
//
// On-disk layout, in the container's directory under data-root:
//
//	container.log      the file being written
//	container.log.1    … container.log.N-1, older files, newest first
//
// Each file starts with the 8-byte Magic (the last byte is the format
// version) followed by records:
//
//	uint32 n | uint8 flags | uint64 seq | int64 time | line | uint32 n
//
// big-endian; n is the length from flags to the end of line (17 + line
// length); flags holds the stream (1 stdout, 2 stderr) and 0x80 for a
// partial line (a piece of a line longer than the split size, continued by
// the next record of the same stream); time is Unix nanoseconds; line has no
// newline. The length is repeated after the record so that a reader can walk
// backward from the end (tail).
//
// Every record carries a sequence number, one more than the record before
// it, across restarts and rotations. A record that could not be written
// (full disk) still consumes its number, and rotation drops whole files from
// the front, so a gap in the numbers is exactly the count of lines lost,
// which readers report.
//
// Rotation: when a flush would take container.log past MaxSize, each file
// moves up one number (the oldest is removed once there are MaxFiles) and a
// new container.log begins. Files are never rewritten in place.
//
// Concurrency: one Writer per file set (the monitor), any number of Readers
// (berthd). A Writer is safe for concurrent use. A Reader sees whole records
// only: a record still being written reads as the end of the file.
package logfile
