// Package stream is the framing spoken on a container's attach, exec and
// logs streams: between berth-monitor and berthctl (through a descriptor
// that berthd hands over on D-Bus), and from berthd to berthctl for logs.
//
// A frame is one type byte, a big-endian uint32 payload length and the
// payload. Frames larger than MaxPayload are refused. Writers are safe for
// concurrent use; readers are not.
package stream
