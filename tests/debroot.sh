#!/bin/bash
# debroot.sh: prints the path of a minimal Debian 12 root for the package
# test, built with debootstrap on first use and cached (keyed by its
# package list) under $BERTH_DEBROOT_CACHE, /var/cache/berth-tests by
# default, so that later runs on this machine, from any checkout, reuse it.
# The root holds what the package depends on and recommends, so that
# `apt-get install ./berth_*.deb` needs no network inside the sandbox.
# It is booted with --volatile=overlay and never changes once built.
set -euo pipefail
suite=bookworm
mirror=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=systemd,systemd-sysv,dbus,runc,netavark,aardvark-dns,iptables,iproute2,tini,curl,ca-certificates
cache=${BERTH_DEBROOT_CACHE:-/var/cache/berth-tests}
key=$(printf '%s %s\n' "$suite" "$pkgs" | sha256sum | cut -c1-12)
root=$cache/debroot-$suite-$key
mkdir -p "$cache"
exec {lock}>"$cache/.debroot.lock"
flock "$lock"
if [ ! -e "$root/.complete" ]; then
	tmp=$cache/.debroot-$suite-$key.$$
	rm -rf "$tmp" "$root"
	echo "debroot: debootstrap $suite into $root (once per machine)" >&2
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		tail -20 "$cache/debootstrap.log" >&2
		rm -rf "$tmp"
		exit 1
	}
	# What every sandbox would otherwise set up at boot: a machine id (the
	# overlay keeps the root clean), no first-boot prompts.
	rm -f "$tmp/etc/machine-id" && : >"$tmp/etc/machine-id"
	apt-get -o RootDir="$tmp" clean 2>/dev/null || rm -rf "$tmp"/var/cache/apt/archives/*.deb
	touch "$tmp/.complete"
	mv "$tmp" "$root"
fi
echo "$root"
