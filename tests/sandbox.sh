# sandbox.sh: boot a throwaway systemd in systemd-nspawn over the host's root,
# with berth's staged /usr laid over the host's (read-only) and a busybox
# root file system at /srv/rootfs. Source it, then:
#   sandbox_boot NAME STAGE ROOTFS [LOG [IMAGES]]
#                                    sets SANDBOX_PID (PID 1 in the sandbox);
#                                    IMAGES (a directory) is at /srv/images;
#                                    an empty STAGE lays nothing over /usr
# SANDBOX_ROOT=DIR boots DIR (say, a debootstrap root) instead of the
# host's root, with --volatile=overlay: every change goes to a tmpfs that
# vanishes at poweroff, /usr included (for package tests). SANDBOX_BIND
# (space-separated HOST:SANDBOX pairs) adds read-only binds.
#   sandbox CMD...                   runs CMD inside
#   sandbox_poweroff
# At most two sandboxes run at once (slot locks in /run/berth-sandbox);
# a third sandbox_boot waits for a slot. The host's container engines and
# registry (docker.io for the benchmark, docker-registry for the pull
# tests) are masked: with an empty /etc, the first boot would enable and
# start them; tests and benchmarks start what they need as units of their
# own. systemd-networkd-wait-online is masked too: with only a loopback it
# would hold network-online.target (which berth-restore.service wants),
# and so the boot, for its two-minute timeout.
sandbox_boot() {
	local name=$1 stage=$2 rootfs=$3 log=${4:-/dev/null} images=${5:-}
	local extra=() root=${SANDBOX_ROOT:-/} volatile=yes b
	[ -n "$images" ] && extra+=(--bind-ro="$images":/srv/images)
	[ -n "$stage" ] && extra+=(--overlay-ro=/usr:"$stage/usr":/usr)
	[ "$root" != / ] && volatile=overlay
	for b in ${SANDBOX_BIND:-}; do extra+=(--bind-ro="$b"); done
	# At most two sandboxes run on this machine at once: take one of two
	# slot locks (waiting for one to free) and hand it to the process that
	# lives as long as nspawn, so it is held until poweroff.
	mkdir -p /run/berth-sandbox
	local slot
	while :; do
		for slot in 0 1; do
			exec {SANDBOX_SLOT_FD}>"/run/berth-sandbox/slot-$slot"
			flock -n "$SANDBOX_SLOT_FD" && break 2
			exec {SANDBOX_SLOT_FD}>&-
		done
		sleep 1
	done
	# Each sandbox in a cgroup of its own: nspawn places its container
	# relative to its own cgroup, and from the host's root cgroup every
	# sandbox would share /payload, so that one sandbox's systemd sees and
	# signals another's processes.
	SANDBOX_CGROUP=/sys/fs/cgroup/unified/sandbox-$name-$$
	mkdir -p "$SANDBOX_CGROUP"
	(
		echo "$BASHPID" >"$SANDBOX_CGROUP/cgroup.procs"
		SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 SYSTEMD_SECCOMP=0 exec setsid timeout 3600 \
			systemd-nspawn -D "$root" --volatile=$volatile --private-network --register=no --keep-unit \
			-M "$name" --bind-ro="$rootfs":/srv/rootfs "${extra[@]}" \
			-b systemd.firstboot=off systemd.unified_cgroup_hierarchy=1 \
			systemd.mask=containerd.service systemd.mask=docker.service systemd.mask=docker.socket \
			systemd.mask=docker-registry.service systemd.mask=systemd-networkd-wait-online.service >"$log" 2>&1 </dev/null
	) &
	exec {SANDBOX_SLOT_FD}>&-
	local i nspawn= state= pid=
	SANDBOX_PID=
	# Our nspawn is the one in our cgroup (it moves itself to supervisor/),
	# never another sandbox's of the same name; it forks a short-lived setup child before PID 1 exists:
	# look for a child whose command is systemd, again on every try.
	for i in $(seq 300); do
		nspawn=
		for pid in $(cat "$SANDBOX_CGROUP/cgroup.procs" "$SANDBOX_CGROUP/supervisor/cgroup.procs" 2>/dev/null); do
			[ "$(cat /proc/$pid/comm 2>/dev/null)" = systemd-nspawn ] && nspawn=$pid
		done
		for pid in $( [ -n "$nspawn" ] && pgrep -P "$nspawn"); do
			[ "$(cat /proc/$pid/comm 2>/dev/null)" = systemd ] && SANDBOX_PID=$pid
		done
		if [ -n "$SANDBOX_PID" ]; then
			state=$(timeout 60 nsenter -t "$SANDBOX_PID" -a systemctl is-system-running --wait 2>/dev/null) || true
			case $state in running|degraded)
				[ "$root" = / ] && sandbox_alternatives
				return 0 ;;
			esac
		fi
		sleep 0.2
	done
	echo "sandbox: systemd did not come up (state: $state)" >&2
	[ -n "$nspawn" ] && kill "$nspawn" 2>/dev/null
	[ -n "$SANDBOX_PID" ] && sandbox_poweroff
	return 1
}
sandbox() { nsenter -t "$SANDBOX_PID" -a "$@"; }
# sandbox_alternatives links iptables to its nftables variant, as
# Debian's alternatives would: the sandbox's /etc starts empty, and
# netavark (berth's network plumbing) runs iptables.
sandbox_alternatives() {
	nsenter -t "$SANDBOX_PID" -a sh -c 'mkdir -p /etc/alternatives
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
	ln -sf /usr/sbin/$(echo $t | sed s/tables/tables-nft/) /etc/alternatives/$t
done'
}
sandbox_poweroff() {
	[ -n "${SANDBOX_PID:-}" ] || return 0
	kill -RTMIN+4 "$SANDBOX_PID" 2>/dev/null || true
	local i
	for i in $(seq 100); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
	# A sandbox that did not power off in 10 s is killed, so that it
	# never holds a slot.
	if kill -0 "$SANDBOX_PID" 2>/dev/null; then
		kill -KILL "$SANDBOX_PID" 2>/dev/null || true
		sleep 0.5
	fi
	SANDBOX_PID=
	sandbox_cgroup_remove
}
# sandbox_cgroup_remove removes the sandbox's cgroup (deepest first) once
# it is empty.
sandbox_cgroup_remove() {
	[ -n "${SANDBOX_CGROUP:-}" ] && [ -d "$SANDBOX_CGROUP" ] || return 0
	local i
	for i in $(seq 50); do
		find "$SANDBOX_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$SANDBOX_CGROUP" ] || break
		sleep 0.1
	done
	SANDBOX_CGROUP=
}
