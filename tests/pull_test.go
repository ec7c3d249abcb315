//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// registry starts Debian's docker-registry on 127.0.0.1:5000 in the
// sandbox (once) and pushes the test images to it.
func registry(t *testing.T) {
	t.Helper()
	must(t, `if ! systemctl is-active -q test-registry; then
mkdir -p /tmp/registry && cat > /tmp/registry.yml <<'REGISTRY'
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /tmp/registry
http:
  addr: 127.0.0.1:5000
REGISTRY
systemd-run -q --unit=test-registry /usr/bin/docker-registry serve /tmp/registry.yml
fi`)
	eventually(t, 20*time.Second, "curl -sf http://127.0.0.1:5000/v2/ >/dev/null")
	must(t, "/srv/images/pushimage /srv/images/busybox-docker.tar 127.0.0.1:5000/test/busybox:latest && "+
		"/srv/images/pushimage /srv/images/tools-oci.tar 127.0.0.1:5000/test/tools:v1")
}

// authRegistry starts a registry with basic authentication (user berth,
// password s3cret:pass) on 127.0.0.1:5001 (once) and pushes busybox to
// it as 127.0.0.1:5001/private/busybox:latest.
func authRegistry(t *testing.T) {
	t.Helper()
	must(t, `if ! systemctl is-active -q test-registry-auth; then
mkdir -p /tmp/registry-auth && /srv/images/pushimage -htpasswd berth s3cret:pass > /tmp/htpasswd && cat > /tmp/registry-auth.yml <<'REGISTRY'
version: 0.1
storage:
  filesystem:
    rootdirectory: /tmp/registry-auth
auth:
  htpasswd:
    realm: berth-test
    path: /tmp/htpasswd
http:
  addr: 127.0.0.1:5001
REGISTRY
systemd-run -q --unit=test-registry-auth /usr/bin/docker-registry serve /tmp/registry-auth.yml
fi`)
	eventually(t, 20*time.Second, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/ | grep -q 401")
	must(t, "PUSH_USER=berth PUSH_PASSWORD=s3cret:pass /srv/images/pushimage /srv/images/busybox-docker.tar 127.0.0.1:5001/private/busybox:latest")
}

// blobGets counts the registry's GETs of blobs of a repository.
func blobGets(t *testing.T, repo string) int {
	t.Helper()
	return atoi(t, must(t, "journalctl -u test-registry -o cat | grep -c 'GET /v2/"+repo+"/blobs/' || true"))
}

// Pull from a real registry, run; a second pull fetches no blob; run of a
// missing image pulls it; mirrors from a reloaded config are used.
func TestPullFromRegistry(t *testing.T) {
	fresh(t)
	registry(t)
	if out := must(t, "berthctl pull 127.0.0.1:5000/test/busybox"); out != "127.0.0.1:5000/test/busybox:latest" {
		t.Fatalf("pull printed %q", out)
	}
	if out := must(t, "berthctl run --rm 127.0.0.1:5000/test/busybox echo pulled"); out != "pulled" {
		t.Fatalf("run: %q", out)
	}
	gets := blobGets(t, "test/busybox")
	if gets < 2 {
		t.Fatalf("the registry served %d blobs of test/busybox, want config and layer", gets)
	}
	must(t, "berthctl pull 127.0.0.1:5000/test/busybox:latest")
	if again := blobGets(t, "test/busybox"); again != gets {
		t.Fatalf("a second pull fetched %d blobs again", again-gets)
	}
	// run of an image that is not here pulls it, as docker run does.
	out, errOut, code := sh(t, "berthctl run --rm 127.0.0.1:5000/test/tools:v1")
	if code != 0 || strings.TrimSpace(out) != "hi from /data as 1000" || !strings.Contains(errOut, "Unable to find image") {
		t.Fatalf("run with a pull: exit %d, %q, %q", code, out, errOut)
	}
	// Pulled layers are shared by chain id like loaded ones.
	if n := must(t, "ls /var/lib/berth/layers | wc -l"); n != "3" {
		t.Fatalf("%s unpacked layers, want 3", n)
	}
	if msg := fails(t, "berthctl pull 127.0.0.1:5000/test/nothing:here"); !strings.Contains(msg, "not found") {
		t.Fatalf("pull of a missing image: %q", msg)
	}
	// A mirror, from a reloaded configuration, serves a registry that
	// does not exist.
	fails(t, "berthctl pull registry.invalid:5000/test/busybox:latest")
	config(t, "[registries.\"registry.invalid:5000\"]\nmirrors = [\"http://127.0.0.1:5000\"]\n")
	must(t, "berthctl reload")
	if out := must(t, "berthctl pull registry.invalid:5000/test/busybox:latest"); out != "registry.invalid:5000/test/busybox:latest" {
		t.Fatalf("pull through a mirror: %q", out)
	}
	if out := must(t, "berthctl images --format json | grep -c '\"registry.invalid:5000/test/busybox:latest\"'"); out != "1" {
		t.Fatalf("image pulled through the mirror not listed: %s", out)
	}
}

// A registry with basic authentication: a pull without credentials is
// refused; with docker-style credentials in /root/.docker/config.json it
// works.
func TestPullWithCredentials(t *testing.T) {
	fresh(t)
	t.Cleanup(func() { sh(t, "rm -rf /root/.docker") })
	authRegistry(t)
	must(t, "rm -rf /root/.docker")
	if msg := fails(t, "berthctl pull 127.0.0.1:5001/private/busybox"); !strings.Contains(msg, "may require authorization") {
		t.Fatalf("pull without credentials: %q", msg)
	}
	must(t, `mkdir -p /root/.docker && printf '{"auths":{"127.0.0.1:5001":{"auth":"%s"}}}' "$(printf berth:s3cret:pass | base64 -w0)" > /root/.docker/config.json`)
	if out := must(t, "berthctl pull 127.0.0.1:5001/private/busybox"); out != "127.0.0.1:5001/private/busybox:latest" {
		t.Fatalf("pull with credentials: %q", out)
	}
	if out := must(t, "berthctl run --rm 127.0.0.1:5001/private/busybox echo private"); out != "private" {
		t.Fatalf("run: %q", out)
	}
}

// References by digest (name@sha256:…, name:tag@sha256:…) find a pulled
// image, whether it was pulled by tag or by digest; the repository digest
// is the registry's manifest digest and shows in inspect and on the image
// object.
func TestPullByDigest(t *testing.T) {
	fresh(t)
	registry(t)
	repo := "127.0.0.1:5000/test/busybox"
	dgst := must(t, `curl -sf -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' `+
		`-H 'Accept: application/vnd.oci.image.manifest.v1+json' http://127.0.0.1:5000/v2/test/busybox/manifests/latest | `+
		`tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'`)
	if !strings.HasPrefix(dgst, "sha256:") {
		t.Fatalf("registry gave digest %q", dgst)
	}
	must(t, "berthctl pull "+repo+":latest")
	for _, ref := range []string{repo + "@" + dgst, repo + ":latest@" + dgst} {
		if out := must(t, "berthctl run --rm "+ref+" echo ok"); out != "ok" {
			t.Fatalf("run %s: %q", ref, out)
		}
	}
	if out := must(t, "berthctl image inspect "+repo+"@"+dgst+` | grep -A2 '"RepoDigests"'`); !strings.Contains(out, `"`+repo+"@"+dgst+`"`) {
		t.Fatalf("inspect RepoDigests: %s", out)
	}
	path := must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetImage s "+repo+"@"+dgst+" | cut -d'\"' -f2")
	if out := must(t, "busctl get-property io.berth.Engine1 "+path+" io.berth.Engine1.Image RepoDigests"); out != `as 1 "`+repo+"@"+dgst+`"` {
		t.Fatalf("RepoDigests property: %s", out)
	}
	// Another digest of the same repository is not this image.
	other := "sha256:" + strings.Repeat("0", 64)
	if msg := fails(t, "berthctl image inspect "+repo+"@"+other); !strings.Contains(msg, "no such image") {
		t.Fatalf("inspect by another digest: %q", msg)
	}
	// Pulled by digest alone: no tag, and the digest finds it.
	must(t, "berthctl rmi "+repo+":latest")
	if msg := fails(t, "berthctl image inspect "+repo+"@"+dgst); !strings.Contains(msg, "no such image") {
		t.Fatalf("digest still resolves after rmi: %q", msg)
	}
	must(t, "berthctl pull "+repo+"@"+dgst)
	if out := must(t, "berthctl run --rm "+repo+"@"+dgst+" echo ok"); out != "ok" {
		t.Fatalf("run after a pull by digest: %q", out)
	}
	if out := must(t, "berthctl image inspect "+repo+"@"+dgst+` | tr -d ' \n' | grep -o '"RepoTags":\[[^]]*\]'`); out != `"RepoTags":[]` {
		t.Fatalf("a pull by digest tagged the image: %s", out)
	}
}
