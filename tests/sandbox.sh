# sandbox.sh: boot a throwaway systemd in systemd-nspawn over the host's root,
# with berth's staged /usr laid over the host's (read-only) and a busybox
# root file system at /srv/rootfs. Source it, then:
#   sandbox_boot NAME STAGE ROOTFS [LOG [IMAGES]]
#                                    sets SANDBOX_PID (PID 1 in the sandbox);
#                                    IMAGES (a directory) is at /srv/images
#   sandbox CMD...                   runs CMD inside
#   sandbox_poweroff
sandbox_boot() {
	local name=$1 stage=$2 rootfs=$3 log=${4:-/dev/null} images=${5:-}
	local extra=()
	[ -n "$images" ] && extra+=(--bind-ro="$images":/srv/images)
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 SYSTEMD_SECCOMP=0 setsid timeout 3600 \
		systemd-nspawn -D / --volatile=yes --private-network --register=no --keep-unit \
		-M "$name" --overlay-ro=/usr:"$stage/usr":/usr --bind-ro="$rootfs":/srv/rootfs "${extra[@]}" \
		-b systemd.firstboot=off systemd.unified_cgroup_hierarchy=1 >"$log" 2>&1 </dev/null &
	local i nspawn= state= pid=
	SANDBOX_PID=
	# nspawn forks a short-lived setup child before PID 1 exists: look for
	# a child whose command is systemd, again on every try.
	for i in $(seq 300); do
		nspawn=$(pgrep -f "^systemd-nspawn .*-M $name " | head -1)
		for pid in $( [ -n "$nspawn" ] && pgrep -P "$nspawn"); do
			[ "$(cat /proc/$pid/comm 2>/dev/null)" = systemd ] && SANDBOX_PID=$pid
		done
		if [ -n "$SANDBOX_PID" ]; then
			state=$(timeout 60 nsenter -t "$SANDBOX_PID" -a systemctl is-system-running --wait 2>/dev/null) || true
			case $state in running|degraded) return 0 ;; esac
		fi
		sleep 0.2
	done
	echo "sandbox: systemd did not come up (state: $state)" >&2
	return 1
}
sandbox() { nsenter -t "$SANDBOX_PID" -a "$@"; }
sandbox_poweroff() {
	[ -n "${SANDBOX_PID:-}" ] || return 0
	kill -RTMIN+4 "$SANDBOX_PID" 2>/dev/null || true
	local i
	for i in $(seq 100); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
	SANDBOX_PID=
}
