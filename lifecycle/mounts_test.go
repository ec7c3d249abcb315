package lifecycle

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseBind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MountPoint
		err  string
	}{
		{"/srv/data:/data", MountPoint{Type: MountBind, Source: "/srv/data", Destination: "/data", RW: true, Propagation: "rprivate", CreateHostDir: true}, ""},
		{"/srv/data/:/data/:ro,z", MountPoint{Type: MountBind, Source: "/srv/data", Destination: "/data", Mode: "ro,z", Propagation: "rprivate", CreateHostDir: true}, ""},
		{"/srv:/s:rshared", MountPoint{Type: MountBind, Source: "/srv", Destination: "/s", Mode: "rshared", RW: true, Propagation: "rshared", CreateHostDir: true}, ""},
		{"data:/data", MountPoint{Type: MountVolume, Name: "data", Destination: "/data", RW: true}, ""},
		{"data:/data:nocopy", MountPoint{Type: MountVolume, Name: "data", Destination: "/data", Mode: "nocopy", RW: true, NoCopy: true}, ""},
		{"/scratch", MountPoint{Type: MountVolume, Destination: "/scratch", RW: true, Anonymous: true}, ""},
		{"/scratch:ro", MountPoint{Type: MountVolume, Destination: "/scratch", Mode: "ro", Anonymous: true}, ""},
		{"./data:/data", MountPoint{}, "invalid characters"},
		{"data/sub:/data", MountPoint{}, "invalid characters"},
		{"/a:rel:rw", MountPoint{}, "not an absolute path"},
		{"/a:/", MountPoint{}, "root file system"},
		{"/a:/proc/x", MountPoint{}, "managed by the container runtime"},
		{"/a:/sys", MountPoint{}, "managed by the container runtime"},
		{"/a:/dev/pts", MountPoint{}, "managed by the container runtime"},
		{"/a:/b:ro,rw", MountPoint{}, "more than once"},
		{"/a:/b:nocopy", MountPoint{}, "nocopy applies to volumes"},
		{"v1:/b:rshared", MountPoint{}, "propagation applies to host directories"},
		{"/a:/b:c:d", MountPoint{}, "want HOST:CTR"},
		{":/b", MountPoint{}, "source is empty"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseBind(tc.in)
			if tc.err != "" {
				if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an invalid argument naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.want.Type || got.Source != tc.want.Source || got.Name != tc.want.Name || got.Destination != tc.want.Destination ||
				got.Mode != tc.want.Mode || got.RW != tc.want.RW || got.Propagation != tc.want.Propagation || got.Anonymous != tc.want.Anonymous ||
				got.NoCopy != tc.want.NoCopy || got.CreateHostDir != tc.want.CreateHostDir {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseMount(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		in   string
		want MountPoint
		err  string
	}{
		{"type=bind,source=" + dir + ",target=/d,readonly", MountPoint{Type: MountBind, Source: dir, Destination: "/d", Propagation: "rprivate"}, ""},
		{"type=bind,src=" + dir + ",dst=/d,bind-propagation=rslave", MountPoint{Type: MountBind, Source: dir, Destination: "/d", RW: true, Propagation: "rslave"}, ""},
		{"type=volume,source=v1,target=/d,volume-nocopy", MountPoint{Type: MountVolume, Name: "v1", Destination: "/d", RW: true, NoCopy: true}, ""},
		{"type=volume,source=v1,target=/d,volume-label=a=b", MountPoint{Type: MountVolume, Name: "v1", Destination: "/d", RW: true, Labels: map[string]string{"a": "b"}}, ""},
		{"target=/d", MountPoint{Type: MountVolume, Destination: "/d", RW: true, Anonymous: true}, ""},
		{"type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=700", MountPoint{Type: MountTmpfs, Destination: "/t", RW: true, TmpfsOptions: []string{"mode=700", "size=67108864"}}, ""},
		{"type=bind,source=rel,target=/d", MountPoint{}, "not an absolute path"},
		{"type=bind,source=" + dir + "/missing,target=/d", MountPoint{}, "bind source path does not exist"},
		{"type=bind,target=/d", MountPoint{}, "no source"},
		{"type=volume,source=v1", MountPoint{}, "no target"},
		{"type=tmpfs,target=/t,tmpfs-size=big", MountPoint{}, "tmpfs-size"},
		{"type=tmpfs,target=/t,tmpfs-mode=8", MountPoint{}, "tmpfs-mode"},
		{"type=tmpfs,source=x,target=/t", MountPoint{}, "takes no source"},
		{"type=volume,target=/t,tmpfs-size=1m", MountPoint{}, "apply to type=tmpfs only"},
		{"type=bind,source=" + dir + ",target=/d,bind-propagation=weird", MountPoint{}, "bind-propagation"},
		{"type=volume,target=/d,readonly=maybe", MountPoint{}, "want true or false"},
		{"type=volume,target=/d,colour=red", MountPoint{}, `unknown field "colour"`},
		{"type=npipe,target=/d", MountPoint{}, `mount type "npipe"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMount(tc.in)
			var got MountPoint
			if err == nil {
				got, err = checkMount(m)
			}
			if tc.err != "" {
				if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an invalid argument naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.want.Type || got.Source != tc.want.Source || got.Name != tc.want.Name || got.Destination != tc.want.Destination ||
				got.RW != tc.want.RW || got.Propagation != tc.want.Propagation || got.Anonymous != tc.want.Anonymous ||
				got.NoCopy != tc.want.NoCopy || !slices.Equal(got.TmpfsOptions, tc.want.TmpfsOptions) || !maps.Equal(got.Labels, tc.want.Labels) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTmpfs(t *testing.T) {
	mp, err := parseTmpfs("/run", "size=64m,exec,uid=1000")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mp.TmpfsOptions, []string{"mode=1777", "size=67108864", "exec", "uid=1000"}) {
		t.Fatalf("options %v", mp.TmpfsOptions)
	}
	m := ociMount(mp)
	if slices.Contains(m.Options, "noexec") || !slices.Contains(m.Options, "nosuid") || !slices.Contains(m.Options, "exec") {
		t.Fatalf("oci options %v: exec must drop the default noexec", m.Options)
	}
	for _, bad := range []string{"size=0", "size=-1", "size=x", "mode=99", "uid=me", "rbind"} {
		if _, err := parseTmpfs("/run", bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: %v, want invalid argument", bad, err)
		}
	}
}

func TestResolveMounts(t *testing.T) {
	s := &Spec{
		Binds:   []string{"data:/data"},
		Tmpfs:   map[string]string{"/run": ""},
		Volumes: []string{"/data", "/var/lib/app"},
	}
	mps, err := resolveMounts(s)
	if err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, mp := range mps {
		dsts = append(dsts, mp.Type+":"+mp.Destination)
	}
	// The image's /data is the user's volume; /var/lib/app is anonymous.
	if !slices.Equal(dsts, []string{"volume:/var/lib/app", "volume:/data", "tmpfs:/run"}) || !mps[0].Anonymous || mps[1].Name != "data" {
		t.Fatalf("mounts %v", mps)
	}
	s = &Spec{Binds: []string{"a1:/x"}, Tmpfs: map[string]string{"/x/": ""}}
	if _, err := resolveMounts(s); err == nil || !strings.Contains(err.Error(), "duplicate mount point /x") {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestHostsFile(t *testing.T) {
	got := string(hostsFile([]byte("127.0.0.1\tlocalhost"), DNS{ExtraHosts: []string{"db:10.0.0.5", "v6=fd00::1"}}))
	if got != "127.0.0.1\tlocalhost\n10.0.0.5\tdb\nfd00::1\tv6\n" {
		t.Fatalf("hosts: %q", got)
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.1\noptions ndots:2\n")
	if got := string(resolvConf(host, false, DNS{})); got != "# comment\nsearch example.com\noptions ndots:2\nnameserver 192.0.2.1\n" {
		t.Fatalf("own network: %q", got)
	}
	if got := string(resolvConf([]byte("nameserver 127.0.0.1\n"), false, DNS{})); got != "nameserver 8.8.8.8\nnameserver 8.8.4.4\n" {
		t.Fatalf("fallback: %q", got)
	}
	if got := string(resolvConf([]byte("nameserver 127.0.0.1\n"), true, DNS{})); got != "nameserver 127.0.0.1\n" {
		t.Fatalf("host network: %q", got)
	}
	got := string(resolvConf(host, false, DNS{Servers: []string{"10.0.0.2"}, Search: []string{"a.test"}, Options: []string{"rotate"}}))
	if got != "# comment\nsearch a.test\nnameserver 10.0.0.2\noptions rotate\n" {
		t.Fatalf("with DNS options: %q", got)
	}
}

// TestCheckResolvedTargets: a target reached through a link of the
// container's file system is checked where it lands, inside the root.
func TestCheckResolvedTargets(t *testing.T) {
	root := t.TempDir()
	for link, to := range map[string]string{"mydev": "/dev", "mysys": "../../sys", "data": "/srv/data", "up": "../../../../tmp"} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"/mydev", "/mysys/kernel", "/mydev/pts"} {
		err := checkResolvedTargets(root, []MountPoint{{Destination: bad}})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "managed by the container runtime") {
			t.Errorf("target %s: %v", bad, err)
		}
	}
	for _, ok := range []string{"/data", "/up/x", "/mydev/shm", "/plain"} {
		if err := checkResolvedTargets(root, []MountPoint{{Destination: ok}}); err != nil {
			t.Errorf("target %s: %v", ok, err)
		}
	}
}

// TestParseMountCSV: --mount fields are CSV, as docker's CLI reads them,
// so a quoted source may hold a comma.
func TestParseMountCSV(t *testing.T) {
	m, err := ParseMount(`type=bind,"source=/srv/a,b",target=/x`)
	if err != nil || m.Source != "/srv/a,b" || m.Target != "/x" {
		t.Fatalf("got %+v, %v", m, err)
	}
	if _, err := ParseMount(`type=bind,"source=/srv/a`); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("an unterminated quote: %v", err)
	}
}

// TestCheckMountKinds: a directory onto a file of the image, or a file
// onto a directory, is refused at create with both named.
func TestCheckMountKinds(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	hostDir, hostFile := t.TempDir(), filepath.Join(t.TempDir(), "f")
	os.WriteFile(hostFile, nil, 0o644)
	for _, tc := range []struct {
		mp   MountPoint
		want string
	}{
		{MountPoint{Type: MountBind, Source: hostDir, Destination: "/file"}, "is a directory"},
		{MountPoint{Type: MountVolume, Name: "v", Destination: "/file"}, `volume "v" is a directory`},
		{MountPoint{Type: MountBind, Source: hostFile, Destination: "/dir"}, "is a file"},
		{MountPoint{Type: MountBind, Source: hostDir, Destination: "/dir"}, ""},
		{MountPoint{Type: MountBind, Source: hostFile, Destination: "/file"}, ""},
		{MountPoint{Type: MountBind, Source: hostDir, Destination: "/new"}, ""},
	} {
		err := checkResolvedTargets(root, []MountPoint{tc.mp})
		if tc.want == "" && err != nil || tc.want != "" && (!errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.mp, err, tc.want)
		}
	}
}
