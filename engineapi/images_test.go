package engineapi

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/berthd/berth/images"
	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestDisplayRef(t *testing.T) {
	for in, want := range map[string]string{
		"nosuch":                          "nosuch:latest",
		"docker.io/library/busybox:1.36":  "busybox:1.36",
		"127.0.0.1:5000/test/busybox":     "127.0.0.1:5000/test/busybox:latest",
		"Not A Name":                      "Not A Name",
		"example.com/a/b@sha256:" + hex64: "example.com/a/b@sha256:" + hex64,
	} {
		if got := displayRef(in); got != want {
			t.Errorf("displayRef(%q) = %q, want %q", in, got, want)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestPullRef(t *testing.T) {
	for _, c := range []struct{ from, tag, want string }{
		{"busybox:latest", "", "docker.io/library/busybox:latest"},
		{"busybox", "1.36", "docker.io/library/busybox:1.36"},
		{"busybox:", "latest", "docker.io/library/busybox:latest"},
		{"127.0.0.1:5000/test/busybox", "latest", "127.0.0.1:5000/test/busybox:latest"},
		{"busybox", "sha256:" + hex64, "docker.io/library/busybox@sha256:" + hex64},
		{"busybox:1.36", "sha256:" + hex64, "docker.io/library/busybox@sha256:" + hex64},
	} {
		got, err := pullRef(c.from, c.tag)
		if err != nil || got != c.want {
			t.Errorf("pullRef(%q, %q) = %q, %v; want %q", c.from, c.tag, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{"BadName", "latest"}, {"busybox", "bad tag"}, {"", ""}} {
		if _, err := pullRef(c[0], c[1]); !errdefs.IsInvalidArgument(err) {
			t.Errorf("pullRef(%q, %q): %v, want invalid argument", c[0], c[1], err)
		}
	}
	// No tag at all is docker's pull of every tag.
	if _, err := pullRef("busybox", ""); !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "every tag of busybox") {
		t.Errorf("pull of every tag: %v", err)
	}
}

func TestTagTarget(t *testing.T) {
	for _, c := range []struct{ repo, tag, want string }{
		{"myrepo", "v1", "myrepo:v1"},
		{"myrepo", "", "myrepo"},
		{"127.0.0.1:5000/x/y", "2", "127.0.0.1:5000/x/y:2"},
	} {
		if got, err := tagTarget(c.repo, c.tag); err != nil || got != c.want {
			t.Errorf("tagTarget(%q, %q) = %q, %v; want %q", c.repo, c.tag, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{"", "v1"}, {"a:b", "c"}, {"a@sha256:" + hex64, ""}, {"myrepo", "bad tag"}, {"UPPER", "x"}} {
		if _, err := tagTarget(c[0], c[1]); !errdefs.IsInvalidArgument(err) {
			t.Errorf("tagTarget(%q, %q): %v, want invalid argument", c[0], c[1], err)
		}
	}
}

func TestRegistryAuth(t *testing.T) {
	enc := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	if c, err := registryAuth(""); c != nil || err != nil {
		t.Errorf("absent: %v %v", c, err)
	}
	if c, err := registryAuth(enc("{}")); c != nil || err != nil {
		t.Errorf("empty config: %v %v", c, err)
	}
	c, err := registryAuth(enc(`{"username":"u","password":"p?>","serveraddress":"127.0.0.1:5001"}`))
	if err != nil || c == nil || c.Username != "u" || c.Password != "p?>" {
		t.Errorf("user and password: %+v %v", c, err)
	}
	raw := base64.RawURLEncoding.EncodeToString([]byte(`{"auth":"` + base64.StdEncoding.EncodeToString([]byte("berth:s3cret:pass")) + `"}`))
	c, err = registryAuth(raw)
	if err != nil || c == nil || c.Username != "berth" || c.Password != "s3cret:pass" {
		t.Errorf("auth field, unpadded: %+v %v", c, err)
	}
	c, err = registryAuth(enc(`{"identitytoken":"tok"}`))
	if err != nil || c == nil || c.IdentityToken != "tok" {
		t.Errorf("identity token: %+v %v", c, err)
	}
	for _, bad := range []string{"%%%", enc("not json")} {
		if _, err := registryAuth(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: %v, want invalid argument", bad, err)
		}
	}
}

func testImage(id string, created time.Time, tags, digests []string) images.Image {
	return images.Image{ID: digest.Digest("sha256:" + strings.Repeat(id, 64)), Created: created, RepoTags: tags, RepoDigests: digests}
}

func TestImageFilters(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	busybox := testImage("a", t0, []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"},
		[]string{"docker.io/library/busybox@sha256:" + hex64})
	local := testImage("b", t0.Add(time.Hour), []string{"127.0.0.1:5000/test/tools:v1"}, nil)
	dangling := testImage("c", t0.Add(2*time.Hour), nil, []string{"docker.io/library/old@sha256:" + hex64})
	all := []images.Image{busybox, local, dangling}
	labels := map[digest.Digest]map[string]string{busybox.ID: {}, local.ID: {"tier": "tools", "v": "1"}, dangling.ID: {}}
	lookup := func(ref string) (images.Image, error) {
		for _, img := range all {
			if strings.HasPrefix(img.ID.Encoded(), ref) {
				return img, nil
			}
		}
		return images.Image{}, noSuchImage(ref)
	}
	now := t0.Add(10 * time.Hour)
	run := func(f map[string][]string) []string {
		t.Helper()
		flt, err := parseImageFilters(f, now, lookup)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		var out []string
		for _, img := range all {
			tags, digests, ok := flt.view(img, labels[img.ID])
			if ok {
				out = append(out, img.ID.Encoded()[:1]+"="+strings.Join(append(tags, digests...), ","))
			}
		}
		return out
	}
	for _, c := range []struct {
		f    map[string][]string
		want string
	}{
		{map[string][]string{}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64 + " b=127.0.0.1:5000/test/tools:v1 c=old@sha256:" + hex64},
		{map[string][]string{"reference": {"busybox"}}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64},
		{map[string][]string{"reference": {"busybox:1*"}}, "a=busybox:1.36"},
		{map[string][]string{"reference": {"busy*:latest", "127.0.0.1:5000/test/*"}}, "a=busybox:latest b=127.0.0.1:5000/test/tools:v1"},
		{map[string][]string{"reference": {"nothing"}}, ""},
		{map[string][]string{"dangling": {"true"}}, "c=old@sha256:" + hex64},
		{map[string][]string{"dangling": {"0"}}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64 + " b=127.0.0.1:5000/test/tools:v1"},
		{map[string][]string{"label": {"tier=tools"}}, "b=127.0.0.1:5000/test/tools:v1"},
		{map[string][]string{"label": {"tier", "v=2"}}, ""},
		{map[string][]string{"label!": {"tier"}, "dangling": {"false"}}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64},
		{map[string][]string{"before": {"bbbb"}}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64},
		{map[string][]string{"since": {"aaaa"}, "dangling": {"false"}}, "b=127.0.0.1:5000/test/tools:v1"},
		{map[string][]string{"until": {"9h"}}, "a=busybox:latest,busybox:1.36,busybox@sha256:" + hex64},
	} {
		if got := strings.Join(run(c.f), " "); got != c.want {
			t.Errorf("%v:\n got %s\nwant %s", c.f, got, c.want)
		}
	}
	for _, bad := range []map[string][]string{
		{"dangling": {"maybe"}}, {"dangling": {"true", "false"}}, {"reference": {"[x"}}, {"until": {"someday"}},
	} {
		if _, err := parseImageFilters(bad, now, lookup); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%v: %v, want invalid argument", bad, err)
		}
	}
	if _, err := parseImageFilters(map[string][]string{"before": {"ffff"}}, now, lookup); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such image: ffff") {
		t.Errorf("before an unknown image: %v", err)
	}
}

func TestPlanRemove(t *testing.T) {
	one := testImage("d", time.Time{}, []string{"docker.io/library/busybox:latest"}, []string{"docker.io/library/busybox@sha256:" + hex64})
	two := testImage("e", time.Time{}, []string{"docker.io/library/busybox:latest", "docker.io/library/mine:v1"}, nil)
	running := []lifecycle.Info{{Record: lifecycle.Record{ID: strings.Repeat("1", 64), State: lifecycle.Running}}}
	stopped := []lifecycle.Info{{Record: lifecycle.Record{ID: strings.Repeat("2", 64), State: lifecycle.Exited}}}
	for _, c := range []struct {
		name  string
		ref   string
		img   images.Image
		force bool
		users []lifecycle.Info
		// untag is the names untagged ("" for a removal), or the
		// error's start.
		untag, err string
	}{
		{"last tag, no container", "busybox", one, false, nil, "", ""},
		{"last tag, stopped container", "busybox", one, false, stopped,
			"", `conflict: unable to remove repository reference "busybox" (must force) - container 222222222222 is using its referenced image dddddddddddd`},
		{"last tag, stopped container, force", "busybox", one, true, stopped, "", ""},
		{"last tag, running container, force", "busybox", one, true, running, "docker.io/library/busybox:latest docker.io/library/busybox@sha256:" + hex64, ""},
		{"one of two tags", "mine:v1", two, false, running, "docker.io/library/mine:v1", ""},
		{"by digest", "busybox@sha256:" + hex64, one, false, nil, "docker.io/library/busybox@sha256:" + hex64, ""},
		{"id, no container", "dddd", one, false, nil, "", ""},
		{"id, stopped container", "dddd", one, false, stopped, "", "conflict: unable to delete dddddddddddd (must be forced) - image is being used by stopped container 222222222222"},
		{"id, stopped container, force", "dddd", one, true, stopped, "", ""},
		{"id, running container, force", "dddd", one, true, running, "", "conflict: unable to delete dddddddddddd (cannot be forced) - image is being used by running container 111111111111"},
		{"id, two repositories", "eeee", two, false, nil, "", "conflict: unable to delete eeeeeeeeeeee (must be forced) - image is referenced in multiple repositories"},
		{"id, two repositories, force", "eeee", two, true, nil, "", ""},
	} {
		r, err := planRemove(c.ref, c.img, c.force, c.users)
		if c.err != "" {
			if !errdefs.IsConflict(err) || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(r.untag, " ") != c.untag {
			t.Errorf("%s: untag %q, %v; want %q", c.name, r.untag, err, c.untag)
		}
	}
}

func TestHistory(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	img := images.Image{ID: digest.Digest("sha256:" + hex64), RepoTags: []string{"docker.io/library/x:1"},
		Layers: []ocispec.Descriptor{{Size: 100}, {Size: 20}}}
	var cfg dockerspec.DockerOCIImage
	cfg.History = []ocispec.History{
		{Created: &t0, CreatedBy: "ADD rootfs /"},
		{Created: &t1, CreatedBy: "ENV A=1", EmptyLayer: true},
		{Created: &t1, CreatedBy: "RUN make", Comment: "c"},
	}
	h := history(img, cfg)
	if len(h) != 3 || h[0].ID != img.ID.String() || h[0].CreatedBy != "RUN make" || h[0].Size != 20 || h[0].Comment != "c" ||
		strings.Join(h[0].Tags, ",") != "x:1" || h[1].Size != 0 || h[1].ID != "<missing>" || h[2].Size != 100 || h[2].Created != t0.Unix() {
		t.Errorf("history: %+v", h)
	}
	img.Created = t1
	h = history(img, dockerspec.DockerOCIImage{})
	if len(h) != 2 || h[0].Size != 20 || h[0].ID != img.ID.String() || h[1].Size != 100 || h[1].Created != t1.Unix() {
		t.Errorf("history without records: %+v", h)
	}
}
