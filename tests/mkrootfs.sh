#!/bin/bash
# mkrootfs.sh DIR: a busybox root file system (about 1 MB) from Debian's
# busybox-static, for tests, the demo and the benchmarks. No network.
set -euo pipefail
dir=$1
bb=$(command -v busybox)
file "$bb" 2>/dev/null | grep -q 'dynamically linked' && { echo "mkrootfs: $bb is not static (install busybox-static)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"/{bin,etc,tmp,proc,sys,dev,root,var/tmp,home/user}
install -m 0755 "$bb" "$dir/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
done
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$dir/etc/group" <<'G'
root:x:0:
user:x:1000:
nogroup:x:65534:
G
chmod 1777 "$dir/tmp" "$dir/var/tmp"
chown 1000:1000 "$dir/home/user"
