//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// dockerPyScript drives berth with docker-py (Debian's python3-docker,
// API 1.41 by default) and prints one line per step; a failed check
// raises, and the traceback goes to stderr.
const dockerPyScript = `
import socket
import time
import docker

c = docker.DockerClient(base_url='unix:///run/berth/berth.sock')
v = c.version()
print('version', v['ApiVersion'], v['Os'])
info = c.info()
print('info', info['CgroupDriver'], info['Images'])
print('images', [t for i in c.images.list() for t in i.tags])
img = c.images.get('busybox')
print('image', img.tags, img.id.startswith('sha256:'), img.attrs['Os'])
img.tag('mybox', 'v1')
print('tagged', sorted(t for i in c.images.list() for t in i.tags))
print('filtered', len(c.images.list(name='mybox')), len(c.images.list(name='nosuch')))
print('history', len(img.history()) > 0)
c.images.remove('mybox:v1')
print('untagged', sorted(t for i in c.images.list() for t in i.tags))
try:
    c.images.get('nosuch:latest')
except docker.errors.ImageNotFound as e:
    print('image notfound', e.status_code)

print('run', repr(c.containers.run('busybox', 'echo hi', remove=True)))
try:
    c.containers.run('busybox', ['sh', '-c', 'echo oops >&2; exit 3'], remove=True)
except docker.errors.ContainerError as e:
    print('run fails', e.exit_status)

ct = c.containers.run('busybox', ['sh', '-c', 'echo started; sleep 1000'], detach=True, name='pyweb', labels={'tier': 'front'})
for _ in range(50):
    if b'started' in ct.logs():
        break
    time.sleep(0.1)
print('logs', repr(ct.logs()))
ct.reload()
print('status', ct.status, ct.name, ct.labels['tier'])
r = ct.exec_run(['sh', '-c', 'echo in-$((6*7))'])
print('exec', r.exit_code, repr(r.output))
r = ct.exec_run(['sh', '-c', 'exit 5'])
print('exec exit', r.exit_code)
print('list', [x.name for x in c.containers.list(filters={'label': 'tier=front'})])
print('list none', [x.name for x in c.containers.list(filters={'label': 'tier=back'})])
print('list all', sorted(x.name for x in c.containers.list(all=True)))

try:
    c.containers.run('busybox', 'true', name='pyweb', detach=True)
except docker.errors.APIError as e:
    print('clash', e.status_code, 'is already in use' in str(e))
try:
    c.containers.get('nosuch')
except docker.errors.NotFound as e:
    print('notfound', e.status_code)

ct.stop(timeout=1)
ct.reload()
print('stopped', ct.status, ct.attrs['State']['ExitCode'])
ct.remove()
print('removed', [x.name for x in c.containers.list(all=True)])

vol = c.volumes.create('pyvol', labels={'a': 'b'})
print('volume', vol.name, vol.attrs['Driver'], vol.attrs['Labels'])
print('volumes', [x.name for x in c.volumes.list()])
out = c.containers.run('busybox', ['sh', '-c', 'echo v > /v/f; cat /v/f'], volumes={'pyvol': {'bind': '/v', 'mode': 'rw'}}, remove=True)
print('volume run', repr(out))
print('volume get', c.volumes.get('pyvol').attrs['Mountpoint'])
vol.remove()
print('volumes after', [x.name for x in c.volumes.list()])
try:
    c.volumes.get('pyvol')
except docker.errors.NotFound as e:
    print('volume notfound', e.status_code)
print('networks', sorted(n.name for n in c.networks.list()))
print('prune', c.volumes.prune())
print('host net', repr(c.containers.run('busybox', 'hostname', network_mode='host', remove=True)) == repr((socket.gethostname() + '\n').encode()))
print('network by name', repr(c.containers.run('busybox', 'hostname', network='host', remove=True)) == repr((socket.gethostname() + '\n').encode()))
print('env unset', repr(c.containers.run('busybox', ['sh', '-c', 'echo ${NOSUCH-unset}'], environment=['NOSUCH'], remove=True)))

# docker-py 5's own default API version; before 1.42 a prune takes named
# volumes too (docker's rule).
old = docker.DockerClient(base_url='unix:///run/berth/berth.sock', version='1.41')
print('old run', repr(old.containers.run('busybox', 'echo old', remove=True)))
old.volumes.create('named41')
print('old prune', old.volumes.prune()['VolumesDeleted'])
ct = old.containers.run('busybox', ['sh', '-c', 'for i in 1 2 3; do echo line$i; done; sleep 1000'], detach=True, name='py41')
buf = b''
for chunk in ct.logs(stream=True, follow=True):
    buf += chunk
    if b'line3' in buf:
        break
print('old stream', repr(buf))
r = ct.exec_run('cat /etc/hostname', demux=True)
print('old exec', r.exit_code, r.output[0] == (ct.id[:12] + '\n').encode(), r.output[1])
ct.kill()
print('old wait', ct.wait()['StatusCode'])
ct.remove(v=True)
try:
    old.containers.get('py41')
except docker.errors.NotFound:
    print('old removed')
`

// TestDockerPy: docker-py's container, image, volume basics and errors.
func TestDockerPy(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	out := must(t, "/usr/bin/python3 - <<'EOF'\n"+dockerPyScript+"\nEOF")
	want := []string{
		"version 1.51 linux",
		"info systemd 1",
		"images ['busybox:latest']",
		"image ['busybox:latest'] True linux",
		"tagged ['busybox:latest', 'mybox:v1']",
		"filtered 1 0",
		"history True",
		"untagged ['busybox:latest']",
		"image notfound 404",
		"run b'hi\\n'",
		"run fails 3",
		"logs b'started\\n'",
		"status running pyweb front",
		"exec 0 b'in-42\\n'",
		"exec exit 5",
		"list ['pyweb']",
		"list none []",
		"list all ['pyweb']",
		"clash 409 True",
		"notfound 404",
		"stopped exited 137",
		"removed []",
		"volume pyvol local {'a': 'b'}",
		"volumes ['pyvol']",
		"volume run b'v\\n'",
		"volume get /var/lib/berth/volumes/pyvol/_data",
		"volumes after []",
		"volume notfound 404",
		"networks ['bridge', 'host', 'none']",
		"prune {'VolumesDeleted': [], 'SpaceReclaimed': 0}",
		"host net True",
		"network by name True",
		"env unset b'unset\\n'",
		"old run b'old\\n'",
		"old prune ['named41']",
		"old stream b'line1\\nline2\\nline3\\n'",
		"old exec 0 True None",
		"old wait 137",
		"old removed",
	}
	got := strings.Split(out, "\n")
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Errorf("line %d: got %q, want %q", i+1, at(got, i), w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d lines, want %d:\n%s", len(got), len(want), out)
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(missing)"
}

// dockerPyNetworksScript drives networks and published ports with
// docker-py (API 1.41: its network create sends CheckDuplicate, its run
// names the network beside EndpointsConfig).
const dockerPyNetworksScript = `
import socket
import time
import docker

c = docker.DockerClient(base_url='unix:///run/berth/berth.sock')
net = c.networks.create('pynet', driver='bridge', labels={'app': 'py'})
print('created', net.name, net.attrs['Driver'], net.attrs['Labels'])
try:
    c.networks.create('pynet')
except docker.errors.APIError as e:
    print('clash', e.status_code)
print('list', [n.name for n in c.networks.list(names=['pynet'])], sorted(n.name for n in c.networks.list(filters={'type': 'builtin'})))

web = c.containers.run('busybox', ['sh', '-c', 'mkdir -p /www && echo py > /www/index.html && exec httpd -f -p 80 -h /www'],
                       detach=True, name='pyweb', network='pynet', ports={'80/tcp': None})
web.reload()
port = int(web.ports['80/tcp'][0]['HostPort'])
body = b''
for _ in range(50):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=2)
        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        while True:
            b = s.recv(4096)
            if not b:
                break
            body += b
        s.close()
        break
    except OSError:
        time.sleep(0.2)
print('get', body.split(b'\r\n\r\n', 1)[-1])
print('address', web.attrs['NetworkSettings']['Networks']['pynet']['IPAddress'] != '')

other = c.containers.run('busybox', 'sleep 1000', detach=True, name='pyother')
net.connect(other, aliases=['oth'])
net.reload()
print('connected', sorted(x.name for x in net.containers))
other.reload()
print('aliases', other.attrs['NetworkSettings']['Networks']['pynet']['Aliases'])
try:
    net.remove()
except docker.errors.APIError as e:
    print('in use', e.status_code)
net.disconnect(other)
net.reload()
print('disconnected', sorted(x.name for x in net.containers))
web.remove(force=True)
other.remove(force=True)
print('pruned', c.networks.prune(filters={'label': 'app=py'})['NetworksDeleted'])
try:
    c.networks.get('pynet')
except docker.errors.NotFound as e:
    print('gone', e.status_code)
`

// TestDockerPyNetworks: docker-py creates, lists, connects, disconnects
// and prunes a network, and runs a container on it with a published
// port that answers.
func TestDockerPyNetworks(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	out := must(t, "/usr/bin/python3 - <<'EOF'\n"+dockerPyNetworksScript+"\nEOF")
	want := `created pynet bridge {'app': 'py'}
clash 409
list ['pynet'] ['bridge', 'host', 'none']
get b'py\n'
address True
connected ['pyother', 'pyweb']
aliases ['oth']
in use 409
disconnected ['pyweb']
pruned ['pynet']
gone 404`
	if out != want {
		t.Errorf("docker-py networks:\n%s\nwant\n%s", out, want)
	}
	noLeftovers(t)
}
