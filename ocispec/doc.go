// Package ocispec builds the OCI runtime spec of a container the way docker
// does by default: pid, mount, uts, ipc and cgroup namespaces, a network
// namespace unless the host network is asked for, docker's default
// capabilities, seccomp profile (github.com/moby/profiles), masked and
// read-only paths.
//
// Cgroup resource limits never go into the spec: they are properties of the
// container's systemd scope. Errors name the option that was wrong and wrap
// errdefs.ErrInvalidArgument.
package ocispec
