//go:build e2e

package tests

import (
	"strings"
	"testing"
)

// storeEmpty asserts that no image, blob or unpacked layer is left.
func storeEmpty(t *testing.T, after string) {
	t.Helper()
	if out := must(t, dockerEnv+"docker images -q; find /var/lib/berth/layers /var/lib/berth/blobs/sha256 /var/lib/berth/ingest -mindepth 1 2>/dev/null; true"); out != "" {
		t.Fatalf("%s left: %s", after, out)
	}
}

// TestDockerImages: load, images (filters, formats), inspect, history,
// tag, rmi (untag, delete, in use), save | load, prune, through the
// docker CLI.
func TestDockerImages(t *testing.T) {
	fresh(t)
	if out := docker(t, "load -i /srv/images/busybox-docker.tar"); out != "Loaded image: busybox:latest" {
		t.Fatalf("docker load: %q", out)
	}
	if out := docker(t, "load -q < /srv/images/tools-oci.tar"); out != "Loaded image: example.com/tools:v1" {
		t.Fatalf("docker load -q: %q", out)
	}
	if out := docker(t, "images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\\n' ' '"); out != "busybox:latest example.com/tools:v1" {
		t.Fatalf("docker images: %q", out)
	}
	id := docker(t, "image inspect --format '{{.Id}}' busybox")
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("inspect Id: %q", id)
	}
	// The same image berthctl sees; its bus object follows the docker
	// CLI's changes, and the load is an event.
	if !strings.Contains(must(t, "berthctl image inspect busybox"), id) {
		t.Fatalf("berthctl does not know %s", id)
	}
	path := must(t, "busctl call io.berth.Engine1 /io/berth/Engine1 io.berth.Engine1.Manager GetImage s busybox | cut -d'\"' -f2")
	if out := must(t, "busctl get-property io.berth.Engine1 "+path+" io.berth.Engine1.Image RepoTags"); out != `as 1 "busybox:latest"` {
		t.Fatalf("the image object: %q", out)
	}
	eventually(t, 5e9, "journalctl --no-pager IMAGE_ID="+id+" BERTH_EVENT=load | grep -q busybox")
	if out := docker(t, "images --filter reference=busybox --format '{{.Repository}} {{.Tag}} {{.ID}}'"); out != "busybox latest "+id[7:19] {
		t.Fatalf("images --filter reference=busybox: %q", out)
	}
	if out := docker(t, "images --filter 'reference=example.com/*' -q"); out == "" || strings.Contains(out, id[7:19]) {
		t.Fatalf("images --filter reference=example.com/*: %q", out)
	}
	if out := docker(t, "images --filter before=example.com/tools:v1 --filter since=example.com/tools:v1 -q"); out != "" {
		t.Fatalf("before and since the same image: %q", out)
	}
	if out := docker(t, "images --filter dangling=true -q"); out != "" {
		t.Fatalf("dangling images after loads: %q", out)
	}
	if out := docker(t, "images --filter label=nosuch -q"); out != "" {
		t.Fatalf("images with a label none has: %q", out)
	}
	if out := docker(t, "image inspect --format '{{.Os}} {{json .RepoTags}} {{len .RootFS.Layers}} {{.RootFS.Type}} {{json .Config.Cmd}}' busybox"); out != `linux ["busybox:latest"] 1 layers ["sh"]` {
		t.Fatalf("inspect busybox: %q", out)
	}
	if out := docker(t, "image inspect --format '{{.Config.WorkingDir}} {{.Config.User}} {{index .Config.Env 0}} {{len .RootFS.Layers}} {{json .RepoDigests}}' example.com/tools:v1"); !strings.HasPrefix(out, `/data 1000 GREETING=hi 3 ["example.com/tools@sha256:`) {
		t.Fatalf("inspect tools: %q", out)
	}
	// docker's shapes: no null where docker gives [] or {}; an older
	// client gets no Descriptor and Containers -1.
	api := "curl -sf --unix-socket /run/berth/berth.sock http://d/"
	for _, path := range []string{"v1.51/images/json", "v1.51/images/busybox/json", "v1.51/images/example.com/tools:v1/json"} {
		if out := must(t, api+path); strings.Contains(out, "null") || !strings.Contains(out, `"RepoDigests":[`) {
			t.Errorf("%s: %s", path, out)
		}
	}
	if out := must(t, api+"v1.40/images/json"); !strings.Contains(out, `"Containers":-1`) || strings.Contains(out, "Descriptor") {
		t.Errorf("images/json for API 1.40: %s", out)
	}
	// History: newest first; the top entry is the image.
	hist := strings.Split(docker(t, "history --format '{{.ID}}' example.com/tools:v1"), "\n")
	tools := docker(t, "image inspect --format '{{.Id}}' example.com/tools:v1")
	if len(hist) != 3 || hist[0] != tools[7:19] || hist[1] != "<missing>" {
		t.Fatalf("history: %q", hist)
	}
	if out := docker(t, "history -q --no-trunc busybox"); out != id {
		t.Fatalf("history -q --no-trunc busybox: %q", out)
	}

	// Tag, and untag by rmi of one of two names.
	docker(t, "tag busybox mybox:v1")
	if out := docker(t, "images --filter reference=mybox --format '{{.Repository}}:{{.Tag}} {{.ID}}'"); out != "mybox:v1 "+id[7:19] {
		t.Fatalf("after tag: %q", out)
	}
	if out := must(t, "busctl get-property io.berth.Engine1 "+path+" io.berth.Engine1.Image RepoTags"); out != `as 2 "busybox:latest" "mybox:v1"` {
		t.Fatalf("the image object after tag: %q", out)
	}
	if out := docker(t, "rmi mybox:v1"); out != "Untagged: mybox:v1" {
		t.Fatalf("rmi of one of two names: %q", out)
	}
	// In use: docker's conflict, nothing removed.
	cid := docker(t, "run -d --name user busybox sleep 1000")
	_, errOut, code := sh(t, dockerEnv+"docker rmi busybox")
	want := `conflict: unable to remove repository reference "busybox" (must force) - container ` + cid[:12] + " is using its referenced image " + id[7:19]
	if code == 0 || !strings.Contains(errOut, want) {
		t.Fatalf("rmi of an image in use: exit %d, %q, want %q", code, errOut, want)
	}
	_, errOut, code = sh(t, dockerEnv+"docker rmi -f "+id[7:19])
	if code == 0 || !strings.Contains(errOut, "conflict: unable to delete "+id[7:19]+" (cannot be forced) - image is being used by running container "+cid[:12]) {
		t.Fatalf("rmi -f by id of a running container's image: exit %d, %q", code, errOut)
	}
	if out := docker(t, "images -q busybox"); out != id[7:19] {
		t.Fatalf("refused rmi removed the image: %q", out)
	}
	docker(t, "rm -f user")
	_, errOut, code = sh(t, dockerEnv+"docker rmi nosuch")
	if code == 0 || !strings.Contains(errOut, "No such image: nosuch:latest") {
		t.Fatalf("rmi nosuch: exit %d, %q", code, errOut)
	}

	// save | load round trip, of one and of two images.
	docker(t, "save -o /tmp/both.tar busybox example.com/tools:v1")
	out := docker(t, "rmi busybox example.com/tools:v1")
	// The OCI archive's manifest digest is a repository digest, which
	// goes with the image.
	if !strings.Contains(out, "Untagged: busybox:latest\nDeleted: "+id) || !strings.Contains(out, "Untagged: example.com/tools:v1\nUntagged: example.com/tools@sha256:") ||
		!strings.Contains(out, "Deleted: "+tools) {
		t.Fatalf("rmi report: %q", out)
	}
	storeEmpty(t, "rmi of every image")
	if _, _, code := sh(t, "busctl get-property io.berth.Engine1 "+path+" io.berth.Engine1.Image RepoTags"); code == 0 {
		t.Fatal("the removed image's bus object is still there")
	}
	eventually(t, 5e9, "journalctl --no-pager IMAGE_ID="+id+" BERTH_EVENT=remove | grep -q removed")
	if out := docker(t, "load -i /tmp/both.tar | sort | tr '\\n' ' '"); out != "Loaded image: busybox:latest Loaded image: example.com/tools:v1" {
		t.Fatalf("load of the saved pair: %q", out)
	}
	if got := docker(t, "image inspect --format '{{.Id}}' busybox example.com/tools:v1 | tr '\\n' ' '"); got != id+" "+tools {
		t.Fatalf("ids after the round trip: %q, want %s %s", got, id, tools)
	}
	docker(t, "rmi busybox")
	if out := docker(t, "save example.com/tools:v1 | "+dockerEnv+"docker load && "+dockerEnv+"docker run --rm example.com/tools:v1"); !strings.HasSuffix(out, "hi from /data as 1000") {
		t.Fatalf("save | load, run: %q", out)
	}
	docker(t, "load -i /srv/images/busybox-docker.tar")

	// Prune: a tag moved away leaves busybox's image dangling.
	docker(t, "tag example.com/tools:v1 busybox:latest")
	if out := docker(t, "images --filter dangling=true -q"); out != id[7:19] {
		t.Fatalf("dangling after the tag moved: %q", out)
	}
	if out := docker(t, "images --filter dangling=true --format '{{.Repository}}:{{.Tag}}'"); out != "<none>:<none>" {
		t.Fatalf("a dangling image's name: %q", out)
	}
	if out := must(t, api+`v1.42/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D`); !strings.Contains(out, `"RepoTags":["<none>:<none>"]`) {
		t.Errorf("a dangling image for API 1.42: %s", out)
	}
	out = docker(t, "image prune -f")
	if !strings.Contains(out, "deleted: "+id) || !strings.Contains(out, "Total reclaimed space:") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Fatalf("image prune: %q", out)
	}
	if _, _, code := sh(t, dockerEnv+"docker image inspect "+id); code == 0 {
		t.Fatal("the pruned image is still there")
	}
	// prune -a spares an image a container uses, even a stopped one.
	docker(t, "create --name keep example.com/tools:v1")
	if out := docker(t, "image prune -a -f"); strings.Contains(out, "deleted:") {
		t.Fatalf("prune -a removed an image in use: %q", out)
	}
	docker(t, "rm keep")
	if out := docker(t, "image prune -a -f"); !strings.Contains(out, "untagged: busybox:latest") || !strings.Contains(out, "deleted: "+tools) {
		t.Fatalf("prune -a: %q", out)
	}
	storeEmpty(t, "image prune -a")
}

// TestDockerImagesBadInput: a truncated or garbage archive, bad filters
// and build are refused with a clear message and leave nothing.
func TestDockerImagesBadInput(t *testing.T) {
	fresh(t)
	must(t, "head -c 3000 /srv/images/busybox-docker.tar > /tmp/truncated.tar && head -c 5000 /dev/urandom > /tmp/garbage.tar")
	for _, c := range []struct{ in, want string }{
		{"-i /tmp/truncated.tar", "load:"},
		{"< /tmp/garbage.tar", "load:"},
	} {
		_, errOut, code := sh(t, dockerEnv+"docker load "+c.in)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("load %s: exit %d, %q", c.in, code, errOut)
		}
	}
	storeEmpty(t, "failed loads")
	_, errOut, code := sh(t, dockerEnv+"docker images --filter dangling=maybe")
	if code == 0 || !strings.Contains(errOut, "invalid filter 'dangling=maybe'") {
		t.Errorf("images --filter dangling=maybe: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker images --filter color=red")
	if code == 0 || !strings.Contains(errOut, "invalid filter 'color'") {
		t.Errorf("images --filter color=red: exit %d, %q", code, errOut)
	}
	for _, c := range []struct{ args, want string }{
		{"image inspect nosuch", "No such image: nosuch"},
		{"history nosuch", "No such image: nosuch:latest"},
		{"tag nosuch other", "No such image: nosuch:latest"},
		{"save nosuch", "No such image: nosuch:latest"},
	} {
		_, errOut, code := sh(t, dockerEnv+"docker "+c.args+" >/dev/null")
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("docker %s: exit %d, %q, want %q", c.args, code, errOut, c.want)
		}
	}
	out := must(t, "curl -s -w ' %{http_code}' -X POST --unix-socket /run/berth/berth.sock http://d/v1.51/build")
	if !strings.Contains(out, "berth does not build images") || !strings.HasSuffix(out, " 501") {
		t.Errorf("POST /build: %q", out)
	}
	_, errOut, code = sh(t, dockerEnv+"docker search busybox")
	if code == 0 || !strings.Contains(errOut, "berth does not search registries") {
		t.Errorf("docker search: exit %d, %q", code, errOut)
	}
	out = must(t, "curl -s -w ' %{http_code}' -X POST --unix-socket /run/berth/berth.sock 'http://d/v1.51/images/create?fromSrc=-'")
	if !strings.Contains(out, "fromSrc, docker import") || !strings.HasSuffix(out, " 501") {
		t.Errorf("import: %q", out)
	}
	storeEmpty(t, "refused requests")
}

// TestDockerPull: docker pull from a registry with docker's progress
// lines; a second pull is up to date; docker run of an image not here
// pulls it; a missing image is docker's error and leaves nothing;
// credentials come from the CLI (X-Registry-Auth), not berth's files.
func TestDockerPull(t *testing.T) {
	fresh(t)
	registry(t)
	out := docker(t, "pull 127.0.0.1:5000/test/busybox")
	for _, want := range []string{"latest: Pulling from test/busybox", ": Pulling fs layer", ": Download complete", ": Pull complete",
		"Digest: sha256:", "Status: Downloaded newer image for 127.0.0.1:5000/test/busybox:latest"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker pull output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n127.0.0.1:5000/test/busybox:latest") {
		t.Errorf("docker pull's last line:\n%s", out)
	}
	dgst := out[strings.Index(out, "Digest: ")+8:]
	dgst = dgst[:strings.Index(dgst, "\n")]
	if got := docker(t, "image inspect --format '{{json .RepoDigests}}' 127.0.0.1:5000/test/busybox"); got != `["127.0.0.1:5000/test/busybox@`+dgst+`"]` {
		t.Errorf("RepoDigests %s, want the pulled digest %s", got, dgst)
	}
	if out := docker(t, "pull 127.0.0.1:5000/test/busybox:latest"); !strings.Contains(out, "Status: Image is up to date for 127.0.0.1:5000/test/busybox:latest") {
		t.Errorf("second pull:\n%s", out)
	}
	// The tools image shares busybox's base layer: it is not fetched.
	if out := docker(t, "pull -q 127.0.0.1:5000/test/tools:v1"); out != "127.0.0.1:5000/test/tools:v1" {
		t.Errorf("pull -q: %q", out)
	}
	docker(t, "rmi 127.0.0.1:5000/test/tools:v1")
	out, errOut, code := sh(t, dockerEnv+"docker run --rm 127.0.0.1:5000/test/tools:v1")
	if code != 0 || strings.TrimSpace(out) != "hi from /data as 1000" ||
		!strings.Contains(errOut, "Unable to find image '127.0.0.1:5000/test/tools:v1' locally") || !strings.Contains(errOut, "Pulling from test/tools") {
		t.Fatalf("run of an image not here: exit %d, %q, %q", code, out, errOut)
	}
	before := must(t, "ls /var/lib/berth/blobs/sha256 /var/lib/berth/layers | sort | md5sum")
	_, errOut, code = sh(t, dockerEnv+"docker pull 127.0.0.1:5000/test/nothing:here")
	if code == 0 || !strings.Contains(errOut, "manifest for 127.0.0.1:5000/test/nothing:here not found") {
		t.Fatalf("pull of a missing image: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker pull -a 127.0.0.1:5000/test/busybox")
	if code == 0 || !strings.Contains(errOut, "pulling every tag of 127.0.0.1:5000/test/busybox (docker pull -a) is not supported") {
		t.Fatalf("pull -a: exit %d, %q", code, errOut)
	}
	_, errOut, code = sh(t, dockerEnv+"docker run --rm 127.0.0.1:5000/test/nothing:here")
	if code != 125 || !strings.Contains(errOut, "not found") {
		t.Fatalf("run of a missing image: exit %d, %q", code, errOut)
	}
	if after := must(t, "ls /var/lib/berth/blobs/sha256 /var/lib/berth/layers | sort | md5sum"); after != before {
		t.Fatal("failed pulls left blobs or layers")
	}
	if n := must(t, dockerEnv+"docker ps -aq | wc -l"); n != "0" {
		t.Fatalf("the failed run left %s containers", n)
	}

	// Credentials from the CLI's configuration, sent as X-Registry-Auth.
	authRegistry(t)
	must(t, "rm -rf /root/.docker")
	_, errOut, code = sh(t, dockerEnv+"docker pull 127.0.0.1:5001/private/busybox")
	if code == 0 || !strings.Contains(errOut, "may require authorization") {
		t.Fatalf("pull without credentials: exit %d, %q", code, errOut)
	}
	t.Cleanup(func() { sh(t, "rm -f /tmp/docker-cli-config/config.json") })
	must(t, `mkdir -p /tmp/docker-cli-config && printf '{"auths":{"127.0.0.1:5001":{"auth":"%s"}}}' "$(printf berth:s3cret:pass | base64 -w0)" > /tmp/docker-cli-config/config.json`)
	if out := docker(t, "pull 127.0.0.1:5001/private/busybox"); !strings.Contains(out, "Status: Downloaded newer image for 127.0.0.1:5001/private/busybox:latest") {
		t.Fatalf("pull with the CLI's credentials:\n%s", out)
	}
}
