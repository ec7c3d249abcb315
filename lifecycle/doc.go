// Package lifecycle owns containers: their records, their state machine and
// every operation on them (create, start, stop, kill, pause, unpause, exec,
// attach, restart, remove, wait, rename, prune, top, cp: archive.go,
// commit: commit.go) and their resource readings (stats: stats.go).
//
// On-disk layout:
//
//	<data-root>/containers/<id>/container.json  Record (berthd writes)
//	<data-root>/containers/<id>/exit.json       contract.Exit (the monitor writes)
//	<exec-root>/containers/<id>/                one run: monitor.json, bundle/,
//	                                            monitor.sock, runtime.log
//	<exec-root>/notify.sock                     monitors report exits here
//	<exec-root>/runc/                           the runtime's state (--root)
//	<exec-root>/exports/<id12>-<n>/             Export's read-only view, mounted for
//	                                            one export (Load clears stale ones)
//	<data-root>/containers/<id>/lower/<n>       short links to the image's
//	                                            layers, for the overlay
//	<data-root>/containers/<id>/hostname,       the container's own /etc
//	  hosts, resolv.conf                        files, written at each start
//	                                            and bind-mounted (0644)
//
// Mounts: a container's binds, volumes and tmpfs are resolved at create
// (Spec.MountPoints) and made by the runtime inside the container's mount
// namespace; the overlay at containers/<id>/rootfs is the only mount berth
// keeps on the host. Volumes are package volumes' store; the manager
// references them per container (Create, Load) and releases them (Remove,
// an auto-remove exit), so the store never takes the manager's locks
// except through VolumeUserActive, which the store calls with its own
// mutex held (lock order: store, then manager, then container).
//
// Both containers/ directories, runc/ and each container's directory are
// 0700 and notify.sock 0600: for root only (Load tightens older ones).
//
// Every file is written atomically and carries a format version. berthd may
// be gone at any time: a Manager rebuilds itself from these files and from
// systemd (Load), and a run's exit is only ever recorded by its monitor.
//
// Errors wrap errdefs classes with the subject: NotFound for unknown
// containers, AlreadyExists for a taken name, InvalidArgument for bad
// options, Conflict (a *TransitionError) for an operation that the state
// forbids, Unavailable when a runtime or monitor cannot be reached.
//
// Concurrency: a Manager is safe for concurrent use. Each container has its
// own lock, held for short sections only, never while waiting for an exit.
// Only Rename holds a container's lock and the manager's together (in that
// order: the name changes under both); nothing takes them the other way.
package lifecycle
