// Package engineapi serves the Docker Engine API on berthd's activated
// socket (/run/berth/berth.sock), so that the docker CLI, the SDKs,
// testcontainers and compose drive berth unchanged.
//
// It is an edge, like package dbusapi: every verb is carried out by the
// engine core (lifecycle.Manager, images.Store, volumes.Store) and only
// translated here, with the API's own Go types (github.com/moby/moby/api)
// on the wire and pkg/stdcopy framing on attach, exec and logs streams.
//
// Invariants:
//   - Every response carries Api-Version, Server and Ostype headers; a path
//     is served both unversioned and as /v1.NN/…, for MinAPIVersion ≤ NN ≤
//     APIVersion; outside that range the answer is docker's 400.
//   - Errors are JSON {"message": …} with docker's status classes: 404 for
//     a missing container, image, volume or exec, 409 for conflicts, 400 for
//     bad parameters, 500 only for faults of berth itself.
//   - Request bodies are bounded (MaxBody) and decoded strictly: a field
//     that berth does not know or cannot honour is a 400, and a refused
//     request leaves nothing behind.
//   - A request, and a stream (attach, exec, logs -f, wait) for as long as
//     it is open, counts as work in flight for the idle exit.
//   - Access control is the socket's mode (0660 root:berth): whoever can
//     connect is root-equivalent, as with docker's group.
package engineapi
