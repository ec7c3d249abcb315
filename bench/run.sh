#!/bin/bash
# bench/run.sh (make bench): figures for the spine, each against a baseline
# measured in the same run, in a throwaway systemd (nspawn).
#  - berthctl run --rm … true vs runc --systemd-cgroup run on the same
#    busybox root file system (median of N runs each, interleaved), once
#    with the OCI config berth generates and once with runc's defaults
#  - berthd RSS when idle (no calls in flight)
#  - berth-monitor PSS with 20 containers running
#  - Reload latency with 100 runtimes (each with a wrapper) and 1000
#    container records, against a property read (bench/reload)
#  - berthctl load of a ~100 MB docker save archive against tar x plus
#    sha256sum of the same archive (median of 5 each, interleaved)
#  - cold activation (berthd stopped before each call) to the first
#    answer, D-Bus Ping and berthctl ps, with no container records and
#    with 1000 records of which 200 are running (median of N each)
#  - berthctl run --rm … true with two bind mounts, a named volume and a
#    tmpfs vs the plain run --rm (median of N each, interleaved)
#  - the docker CLI 28 (/usr/local/bin/docker) on berth's Engine API and on
#    dockerd (Debian's docker.io: dockerd and containerd as transient units
#    in the sandbox, with their own roots and sockets): docker run --rm
#    busybox true, then docker ps with 50 running on each, --network none
#    on both (median of N each, interleaved); needs docker.io on the host
#    (make bench installs it)
#  - networking: berthctl run --rm … true on the default bridge network
#    and run -d -p … (a published port) against --network none, and the
#    same pair for podman (Debian's, netavark too) in the same sandbox
#    when it is installed (make bench installs it) (median of N each,
#    interleaved)
#  - healthchecks: the CPU time that 20 containers with a 1 s healthcheck
#    (CMD-SHELL, run by the monitor through runc exec) cost over
#    HEALTH_SECONDS (default 60) against 20 containers without one, run at
#    the same time; the scopes' CPUUsageNSec, or where systemd has none
#    (no cgroup controllers in the sandbox) their cgroups' cpu.stat
#    usage_usec (always there on cgroup v2), else the CPU of their
#    processes from /proc; printed per check in ms of CPU
# The spine's figures (run, mounts, cold, the monitor's PSS) use
# --network none, as the runc baseline has no network either.
# ONLY=run|reload|load|cold|mounts|docker|network|health runs one part.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${BERTH_STAGE:?run through make bench}
runs=${RUNS:-30}
only=${ONLY:-}
CGO_ENABLED=0 go build -o "$stage/usr/libexec/berth/bench-reload" ./bench/reload
images=tests/.cache/bench-images
if [ -z "$only" ] || [ "$only" = load ]; then
	# ~100 MB in one layer: incompressible files of several sizes.
	if [ ! -s "$images/big.tar" ]; then
		rm -rf "$images" && mkdir -p "$images/layer/data"
		for i in $(seq 40); do head -c $(( (i % 8 + 1) * 580 * 1024 )) /dev/urandom >"$images/layer/data/f$i"; done
		go build -o "$images/mkimage" ./tests/mkimage
		"$images/mkimage" -format docker -ref big:latest -cmd '["true"]' -o "$images/big.tar" "$images/layer"
	fi
fi
mkdir -p "$images"
. tests/sandbox.sh
rootfs=tests/.cache/rootfs
tests/mkrootfs.sh "$rootfs"
if [ -z "$only" ] || [ "$only" = docker ] || [ "$only" = network ] || [ "$only" = health ]; then
	[ "$only" = network ] || [ "$only" = health ] || command -v dockerd >/dev/null || { echo "bench: dockerd missing (make bench installs docker.io)" >&2; exit 1; }
	go build -o "$images/mkimage" ./tests/mkimage
	"$images/mkimage" -format docker -ref busybox:latest -cmd '["sh"]' -o "$images/busybox.tar" "$rootfs"
fi
trap sandbox_poweroff EXIT
sandbox_boot berth-bench "$stage" "$PWD/$rootfs" tests/.cache/bench-sandbox.log "$PWD/$images"
sandbox bash -c 'cat > /tmp/bench-inner.sh' <<'IN'
set -euo pipefail
runs=$1 only=$2 hsecs=$3
awk() { mawk "$@"; }  # /etc/alternatives is empty in a volatile sandbox
systemctl start berthd.socket
mkdir -p /tmp/bundle && cd /tmp/bundle
runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/; s#"path": "rootfs"#"path": "/srv/rootfs"#' config.json
if [ -z "$only" ] || [ "$only" = run ]; then
berthctl run --rm --network none --rootfs /srv/rootfs -- true   # warm: activation, page cache
runc --systemd-cgroup run -b /tmp/bundle warm >/dev/null
# The same OCI config berth generates (docker's seccomp profile, caps,
# masked paths), with runc making the scope: berth's own overhead.
id=$(berthctl run -d --network none --rootfs /srv/rootfs -- true)
berthctl wait "$id" >/dev/null
mkdir -p /tmp/bundle-berth
sed 's#"cgroupsPath": "[^"]*"#"cgroupsPath": "berth.slice:bench:ID"#' "/run/berth/containers/$id/bundle/config.json" >/tmp/bundle-berth/config.json
berthctl rm "$id" >/dev/null
runb() { sed -i "s#berth.slice:bench:[a-z0-9]*#berth.slice:bench:$1#" /tmp/bundle-berth/config.json; runc --systemd-cgroup run -b /tmp/bundle-berth "$1" >/dev/null; }
runb warmb
: >/tmp/b; : >/tmp/r; : >/tmp/s
for i in $(seq "$runs"); do
	a=$(date +%s%N); runc --systemd-cgroup run -b /tmp/bundle "r$i" >/dev/null; b=$(date +%s%N)
	echo $(( (b - a) / 1000 )) >>/tmp/r
	a=$(date +%s%N); runb "s$i"; b=$(date +%s%N)
	echo $(( (b - a) / 1000 )) >>/tmp/s
	a=$(date +%s%N); berthctl run --rm --network none --rootfs /srv/rootfs -- true; b=$(date +%s%N)
	echo $(( (b - a) / 1000 )) >>/tmp/b
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rb=$(med /tmp/b); rr=$(med /tmp/r); rs=$(med /tmp/s)
printf 'run --rm true, median of %d: berthctl %.1f ms\n' "$runs" "$(echo "$rb/1000" | bc -l)"
printf '  vs runc --systemd-cgroup run, same OCI config as berth (seccomp etc.): %.1f ms, ratio %.2f\n' "$(echo "$rs/1000" | bc -l)" "$(echo "$rb/$rs" | bc -l)"
printf '  vs runc --systemd-cgroup run, runc spec defaults (no seccomp): %.1f ms, ratio %.2f\n' "$(echo "$rr/1000" | bc -l)" "$(echo "$rb/$rr" | bc -l)"
for i in $(seq 20); do berthctl run -d --network none --rootfs /srv/rootfs -- sleep 1000 >/dev/null; done
sleep 1
pss=0; n=0
for p in $(pgrep -x berth-monitor); do
	v=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup); pss=$((pss + v)); n=$((n + 1))
done
rss=$(awk '/^VmRSS:/ {print $2}' /proc/$(systemctl show -P MainPID berthd)/status)
printf 'berth-monitor PSS with %d running: %.2f MB each (mean)\n' "$n" "$(echo "$pss/$n/1024" | bc -l)"
printf 'berthd RSS with %d containers, idle: %.1f MB\n' "$n" "$(echo "$rss/1024" | bc -l)"
fi
if [ -z "$only" ] || [ "$only" = mounts ]; then
# The targets exist in the busybox root file system (read-only here).
mkdir -p /tmp/bm1 /tmp/bm2
berthctl volume create benchvol >/dev/null
mnt="-v /tmp/bm1:/root -v /tmp/bm2:/home/user:ro -v benchvol:/var/tmp --tmpfs /tmp:size=16m"
berthctl run --rm --network none --rootfs /srv/rootfs -- true   # warm
berthctl run --rm --network none --rootfs /srv/rootfs $mnt -- true
: >/tmp/mp; : >/tmp/mm
# Alternate which goes first, so that neither pays for the other's
# clean-up more often.
plain() { a=$(date +%s%N); berthctl run --rm --network none --rootfs /srv/rootfs -- true; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/mp; }
mounts() { a=$(date +%s%N); berthctl run --rm --network none --rootfs /srv/rootfs $mnt -- true; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/mm; }
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 0 ]; then plain; mounts; else mounts; plain; fi
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(med /tmp/mp); mm=$(med /tmp/mm)
printf 'run --rm true with two bind mounts, a named volume and a tmpfs, median of %d: %.1f ms vs plain run --rm %.1f ms: difference %.1f ms, ratio %.2f\n' \
	"$runs" "$(echo "$mm/1000" | bc -l)" "$(echo "$mp/1000" | bc -l)" "$(echo "($mm-$mp)/1000" | bc -l)" "$(echo "$mm/$mp" | bc -l)"
berthctl volume rm benchvol >/dev/null
fi
if [ -z "$only" ] || [ "$only" = load ]; then
size=$(stat -c %s /srv/images/big.tar)
berthctl load -q -i /srv/images/big.tar >/dev/null && berthctl rmi big >/dev/null && berthctl image prune >/dev/null  # warm
: >/tmp/lb; : >/tmp/lt
for i in 1 2 3 4 5; do
	rm -rf /tmp/x && mkdir /tmp/x && sync
	a=$(date +%s%N); tar xf /srv/images/big.tar -C /tmp/x && sha256sum /srv/images/big.tar >/dev/null; b=$(date +%s%N)
	echo $(( (b - a) / 1000 )) >>/tmp/lt
	a=$(date +%s%N); berthctl load -q -i /srv/images/big.tar >/dev/null; b=$(date +%s%N)
	echo $(( (b - a) / 1000 )) >>/tmp/lb
	berthctl rmi big >/dev/null && berthctl image prune >/dev/null
done
rm -rf /tmp/x
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lb=$(med /tmp/lb); lt=$(med /tmp/lt)
printf 'image load of %.0f MB, median of 5: berthctl load %.0f ms (%.0f MB/s), tar x + sha256sum %.0f ms (%.0f MB/s): speed %.0f%% of the baseline\n' \
	"$(echo "$size/1000000" | bc -l)" "$(echo "$lb/1000" | bc -l)" "$(echo "$size/$lb" | bc -l)" "$(echo "$lt/1000" | bc -l)" "$(echo "$size/$lt" | bc -l)" "$(echo "100*$lt/$lb" | bc -l)"
fi
if [ -z "$only" ] || [ "$only" = cold ]; then
# cold N: median over N tries of the time from a stopped berthd to the
# first answer of a D-Bus Ping (activation) and of berthctl ps -a.
cold() {
	local i a b
	: >/tmp/cp; : >/tmp/cs
	for i in $(seq "$1"); do
		systemctl stop berthd.service
		a=$(date +%s%N); busctl call io.berth.Engine1 /io/berth/Engine1 org.freedesktop.DBus.Peer Ping >/dev/null; b=$(date +%s%N)
		echo $(( (b - a) / 1000 )) >>/tmp/cp
		systemctl stop berthd.service
		a=$(date +%s%N); berthctl ps -a >/dev/null; b=$(date +%s%N)
		echo $(( (b - a) / 1000 )) >>/tmp/cs
	done
	cp0=$(med /tmp/cp); cs0=$(med /tmp/cs)
}
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
berthctl ps -a -q | xargs -r berthctl rm -f >/dev/null
cold "$runs"; p0=$cp0; s0=$cs0
for i in $(seq 200); do berthctl run -d --network none --rootfs /srv/rootfs -- sleep 100000 >/dev/null; done
seq 800 | xargs -P 4 -I{} berthctl create --rootfs /srv/rootfs -- true >/dev/null
printf 'cold setup: %d records, %d running\n' "$(berthctl ps -a -q | wc -l)" "$(berthctl ps -q | wc -l)"
cold "$runs"; p1=$cp0; s1=$cs0
printf 'cold activation to the first answer, median of %d, berthd stopped before each call:\n' "$runs"
printf '  D-Bus Ping: %.1f ms with 1000 records (200 running) vs %.1f ms with none: ratio %.2f\n' "$(echo "$p1/1000" | bc -l)" "$(echo "$p0/1000" | bc -l)" "$(echo "$p1/$p0" | bc -l)"
printf '  berthctl ps -a: %.1f ms with 1000 records (200 running) vs %.1f ms with none: ratio %.2f\n' "$(echo "$s1/1000" | bc -l)" "$(echo "$s0/1000" | bc -l)" "$(echo "$s1/$s0" | bc -l)"
berthctl ps -a -q | xargs -r -n 100 berthctl rm -f >/dev/null
fi
if [ -z "$only" ] || [ "$only" = docker ]; then
# dockerd and containerd as docker.io lays them out (two services), as
# transient units kept apart from berth and from any containerd.service
# the sandbox's presets start: their own sockets, roots and state; no
# bridge and no iptables in the sandbox, so containers on both run with
# --network none.
systemd-run -q --unit=bench-containerd -p Delegate=yes -p KillMode=process \
	containerd --address /run/bench-containerd/containerd.sock \
	--root /var/lib/bench-containerd --state /run/bench-containerd
for i in $(seq 300); do [ -S /run/bench-containerd/containerd.sock ] && break; sleep 0.1; done
systemd-run -q --unit=bench-dockerd -p Delegate=yes -p KillMode=mixed \
	dockerd --iptables=false --bridge=none --ip-forward=false \
	--containerd /run/bench-containerd/containerd.sock \
	-H unix:///run/bench-docker.sock --data-root /var/lib/bench-docker \
	--exec-root /run/bench-docker --pidfile /run/bench-docker.pid
export DOCKER_CONFIG=/tmp/bench-docker-config
dk() { /usr/local/bin/docker -H unix:///run/bench-docker.sock "$@"; }
bk() { /usr/local/bin/docker -H unix:///run/berth/berth.sock "$@"; }
for i in $(seq 300); do dk version >/dev/null 2>&1 && break; sleep 0.1; done
dk version >/dev/null || { journalctl -q -u bench-containerd -u bench-dockerd | tail -30; exit 1; }
# The same image in both (setup, not measured).
berthctl load -q -i /srv/images/busybox.tar >/dev/null
dk load -q -i /srv/images/busybox.tar >/dev/null
run="run --rm --network none busybox true"
bk $run; dk $run; bk $run; dk $run  # warm
: >/tmp/db; : >/tmp/dd
brun() { a=$(date +%s%N); bk $run; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/db; }
drun() { a=$(date +%s%N); dk $run; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/dd; }
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 0 ]; then brun; drun; else drun; brun; fi
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rb=$(med /tmp/db); rd=$(med /tmp/dd)
for i in $(seq 50); do
	bk run -d --network none busybox sleep 100000 >/dev/null
	dk run -d --network none busybox sleep 100000 >/dev/null
done
nb=$(bk ps -q | wc -l); nd=$(dk ps -q | wc -l)
bk ps >/dev/null; dk ps >/dev/null  # warm
: >/tmp/db; : >/tmp/dd
bps() { a=$(date +%s%N); bk ps >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/db; }
dps() { a=$(date +%s%N); dk ps >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>/tmp/dd; }
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 0 ]; then bps; dps; else dps; bps; fi
done
pb=$(med /tmp/db); pd=$(med /tmp/dd)
printf 'docker CLI %s on berth (API %s) and on dockerd %s (API %s, %s storage, %s cgroup driver), --network none on both, median of %d each, interleaved:\n' \
	"$(bk version --format '{{.Client.Version}}')" "$(bk version --format '{{.Server.APIVersion}}')" \
	"$(dk version --format '{{.Server.Version}}')" "$(dk version --format '{{.Server.APIVersion}}')" \
	"$(dk info --format '{{.Driver}}')" "$(dk info --format '{{.CgroupDriver}}')" "$runs"
printf '  docker run --rm busybox true: berth %.1f ms, dockerd %.1f ms: dockerd/berth %.2f\n' \
	"$(echo "$rb/1000" | bc -l)" "$(echo "$rd/1000" | bc -l)" "$(echo "$rd/$rb" | bc -l)"
printf '  docker ps, %d / %d running: berth %.1f ms, dockerd %.1f ms: dockerd/berth %.2f\n' \
	"$nb" "$nd" "$(echo "$pb/1000" | bc -l)" "$(echo "$pd/1000" | bc -l)" "$(echo "$pd/$pb" | bc -l)"
bk ps -a -q | xargs -r /usr/local/bin/docker -H unix:///run/berth/berth.sock rm -f >/dev/null
dk ps -a -q | xargs -r /usr/local/bin/docker -H unix:///run/bench-docker.sock rm -f >/dev/null
systemctl stop bench-dockerd bench-containerd
fi
if [ -z "$only" ] || [ "$only" = network ]; then
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { echo "$1/1000" | bc -l; }
# pair NAME A B: times the commands A and B (strings), interleaved, and
# prints their medians and ratio.
pair() {
	local name=$1 a=$2 b=$3 i t0 t1
	eval "$a" >/dev/null; eval "$b" >/dev/null  # warm
	: >/tmp/na; : >/tmp/nb
	for i in $(seq "$runs"); do
		if [ $((i % 2)) = 0 ]; then
			t0=$(date +%s%N); eval "$a" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >>/tmp/na
			t0=$(date +%s%N); eval "$b" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >>/tmp/nb
		else
			t0=$(date +%s%N); eval "$b" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >>/tmp/nb
			t0=$(date +%s%N); eval "$a" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )) >>/tmp/na
		fi
	done
	local ma mb
	ma=$(med /tmp/na); mb=$(med /tmp/nb)
	printf '  %s: %.1f ms vs %.1f ms: cost of the network %.1f ms, ratio %.2f\n' "$name" "$(ms $ma)" "$(ms $mb)" "$(ms $((ma - mb)))" "$(echo "$ma/$mb" | bc -l)"
}
berthctl load -q -i /srv/images/busybox-docker.tar >/dev/null 2>&1 || berthctl load -q -i /srv/images/busybox.tar >/dev/null
printf 'networking, median of %d each, interleaved:\n' "$runs"
n=0
brun_p() { n=$((n + 1)); berthctl run -d -p $((20000 + n)):80 busybox sleep 1000; }
pair "berth run --rm on the bridge vs --network none" "berthctl run --rm busybox true" "berthctl run --rm --network none busybox true"
pair "berth run -d -p HOST:80 vs run -d --network none" "brun_p" "berthctl run -d --network none busybox sleep 1000"
berthctl ps -a -q | xargs -r berthctl rm -f >/dev/null
if command -v podman >/dev/null; then
	# The volatile /etc has none of podman's configuration: accept local
	# archives, use netavark as berth does, and no pids limit (the sandbox
	# has no cgroup controllers).
	mkdir -p /etc/containers
	echo '{"default": [{"type": "insecureAcceptAnything"}]}' >/etc/containers/policy.json
	printf '[containers]\npids_limit = 0\n[network]\nnetwork_backend = "netavark"\n' >/etc/containers/containers.conf
	podman load -q -i /srv/images/busybox.tar >/dev/null
	prun_p() { n=$((n + 1)); podman run -d -p $((30000 + n)):80 busybox sleep 1000; }
	pair "podman $(podman version --format '{{.Client.Version}}') run --rm on its bridge vs --network none" "podman run --rm busybox true" "podman run --rm --network none busybox true"
	pair "podman run -d -p HOST:80 vs run -d --network none" "prun_p" "podman run -d --network none busybox sleep 1000"
	podman rm -a -f -t 0 >/dev/null
else
	echo "  podman: not installed (make bench installs it)"
fi
fi
if [ -z "$only" ] || [ "$only" = reload ]; then
mkdir -p /etc/berth
for i in $(seq 100); do printf '[runtimes.rt%d]\npath = "runc"\nargs = ["--debug", "%d"]\n' "$i" "$i"; done >/etc/berth/berth.toml
berthctl reload >/dev/null
have=$(berthctl ps -a -q | wc -l)
seq $((1000 - have)) | xargs -P 4 -I{} berthctl create --rootfs /srv/rootfs -- true >/dev/null
printf 'reload setup: %d runtimes, %d wrappers, %d container records\n' "$(busctl get-property io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager Runtimes | cut -d' ' -f2)" "$(ls /run/berth/runtimes | wc -l)" "$(berthctl ps -a -q | wc -l)"
/usr/libexec/berth/bench-reload -n 100
fi
if [ -z "$only" ] || [ "$only" = health ]; then
berthctl load -q -i /srv/images/busybox-docker.tar >/dev/null 2>&1 || berthctl load -q -i /srv/images/busybox.tar >/dev/null
berthctl ps -a -q | xargs -r berthctl rm -f >/dev/null
n=20
hc=() plain=()
for i in $(seq $n); do
	# Each check appends a line to /tmp/checks: the count of checks run.
	hc+=("$(berthctl run -d --network none --health-cmd 'echo >>/tmp/checks' --health-interval 1s busybox sleep 100000)")
	plain+=("$(berthctl run -d --network none busybox sleep 100000)")
done
# cpu ID: the CPU time of a container's scope in µs, and how it was read.
cpu() {
	local unit=berth-$1.scope v cg
	v=$(systemctl show -p CPUUsageNSec --value "$unit")
	if [[ $v =~ ^[0-9]+$ ]]; then echo "$((v / 1000)) CPUUsageNSec"; return; fi
	cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value "$unit")
	if [ -r "$cg/cpu.stat" ]; then echo "$(awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat") cpu.stat"; return; fi
	# utime+stime+cutime+cstime of every process in the scope (the
	# monitor reaps runc and the checks, so theirs is in its cutime).
	local t=0 p
	for p in $(cat "$cg"/cgroup.procs "$cg"/*/cgroup.procs 2>/dev/null); do
		t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' /proc/$p/stat 2>/dev/null || echo 0)))
	done
	echo "$((t * 1000000 / $(getconf CLK_TCK))) /proc"
}
total() { local s=0 id; for id in "$@"; do set -- $(cpu "$id"); s=$((s + $1)); done; echo "$s"; }
checks() { local s=0 id; for id in "${hc[@]}"; do s=$((s + $(wc -l </var/lib/berth/containers/$id/rootfs/tmp/checks 2>/dev/null || echo 0))); done; echo "$s"; }
sleep 3  # past the starts
t0=$(date +%s)
h0=$(total "${hc[@]}"); p0=$(total "${plain[@]}"); c0=$(checks)
sleep "$hsecs"
h1=$(total "${hc[@]}"); p1=$(total "${plain[@]}"); c1=$(checks)
src=$(cpu "${hc[0]}" | cut -d' ' -f2)
dh=$((h1 - h0)) dp=$((p1 - p0)) dc=$((c1 - c0))
printf 'healthchecks, %d containers with a 1 s check vs %d without, over %d s (CPU from %s):\n' "$n" "$n" "$hsecs" "$src"
printf '  with: %.1f ms of CPU, without: %.1f ms, %d checks run: %.2f ms of CPU per check (monitor + runc exec + the check)\n' \
	"$(echo "$dh/1000" | bc -l)" "$(echo "$dp/1000" | bc -l)" "$dc" "$(echo "($dh - $dp)/1000/$dc" | bc -l)"
printf '  journal entries about the checked containers meanwhile: %d (no line per check)\n' \
	"$(journalctl --no-pager -q --since "@$t0" -o cat $(printf 'BERTH_CONTAINER_ID=%s ' "${hc[@]}") | wc -l)"
berthctl ps -a -q | xargs -r berthctl rm -f >/dev/null
fi
IN
sandbox bash ${BENCH_TRACE:+-x} /tmp/bench-inner.sh "$runs" "$only" "${HEALTH_SECONDS:-60}" </dev/null
