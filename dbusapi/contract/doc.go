// Package contract holds the names of berth's D-Bus API, its wire types and
// the one mapping between errors and D-Bus error names, for the server
// (dbusapi) and for clients (berthctl), which link nothing else of the
// engine.
//
// Error contract: ToDBus names an error by its subject (package errs:
// io.berth.Engine1.Error.NoSuchImage, like machined's NoSuchImage) when
// it wraps one, else by its errdefs class, else Error.Internal; FromDBus
// maps a name back to the same subject or class, so errors.Is holds on
// both sides of the bus. A test round-trips every subject and class.
package contract
