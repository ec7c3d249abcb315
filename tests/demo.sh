#!/bin/bash
# make demo: boot a throwaway systemd, install berth into it, build a tiny
# busybox image locally (Debian's busybox-static, no network), load it, run
# containers from it and from a root file-system directory, and show a
# scope and its journal lines, a published port, name resolution on a user
# network, a healthcheck, a restart policy and the events.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${BERTH_STAGE:?run through make demo}
. tests/sandbox.sh
rootfs=tests/.cache/rootfs
tests/mkrootfs.sh "$rootfs"
images=tests/.cache/demo-images
mkdir -p "$images"
go build -o "$images/mkimage" ./tests/mkimage
"$images/mkimage" -format docker -ref busybox:latest -cmd '["sh"]' -o "$images/busybox.tar" "$rootfs"
trap sandbox_poweroff EXIT
sandbox_boot berth-demo "$stage" "$PWD/$rootfs" /dev/null "$PWD/$images"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; sandbox bash -c "$*"; }
step systemctl enable --now berthd.socket
step berthctl load -i /srv/images/busybox.tar
step berthctl images
step berthctl run --rm busybox echo hi
step berthctl run --rm --name hello --rootfs /srv/rootfs -- sh -c "'echo hi from \$(hostname); uname -r'"
step 'echo "exit code: $?"'
step berthctl run -d --name web --memory 64m busybox sh -c "'while :; do echo tick; sleep 1; done'"
sleep 2
step berthctl ps
step 'systemctl status --no-pager "berth-$(berthctl inspect web | sed -n "s/.*\"Id\": \"\(.*\)\",/\1/p" | head -1).scope" | head -12'
step journalctl --no-pager -o verbose CONTAINER_NAME=web -n 1 '|' grep -E "'CONTAINER_|PRIORITY|MESSAGE=|_SYSTEMD_UNIT'"
step berthctl logs --tail 3 web
step berthctl stop -t 1 web
# A web server on a published port, a second container reaching it by
# name on a user network, a healthcheck and a restart policy.
step berthctl network create demo-net
step berthctl run -d --name site --network demo-net -p 8080:80 --restart always --health-cmd "'wget -q -O /dev/null http://127.0.0.1/'" --health-interval 1s busybox sh -c "'echo hello from berth >/tmp/index.html && exec httpd -f -p 80 -h /tmp'"
sleep 2
step curl -s http://127.0.0.1:8080/index.html
step berthctl run --rm --network demo-net busybox wget -q -O - http://site/index.html
step berthctl ps
step 'kill -9 $(berthctl inspect -f "{{.State.Pid}}" site); sleep 1.5; berthctl inspect -f "{{.State.Status}}, restarted {{.RestartCount}} time(s), {{.State.Health.Status}}" site'
step 'DOCKER_HOST=unix:///run/berth/berth.sock docker ps 2>/dev/null || echo "(the docker CLI is not installed here)"'
step berthctl events --since 1m --until 0s --filter container=site
step berthctl rm -f site
step berthctl network rm demo-net
step berthctl ps -a
step berthctl status
