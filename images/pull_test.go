package images

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCredentialsFromDockerConfig(t *testing.T) {
	f := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("user:pa:ss"))
	os.WriteFile(f, []byte(`{"auths":{"reg.example.com:5000":{"auth":"`+auth+`"},"https://index.docker.io/v1/":{"identitytoken":"tok"}}}`), 0o600)
	creds := credentials(f)
	if u, p, err := creds("reg.example.com:5000"); err != nil || u != "user" || p != "pa:ss" {
		t.Fatalf("reg.example.com:5000: %q %q %v", u, p, err)
	}
	if u, p, _ := creds("registry-1.docker.io"); u != "" || p != "tok" {
		t.Fatalf("docker hub token: %q %q", u, p)
	}
	if u, p, err := creds("other.example.com"); u != "" || p != "" || err != nil {
		t.Fatalf("unknown host: %q %q %v", u, p, err)
	}
	if u, _, err := credentials(filepath.Join(t.TempDir(), "absent"))("x"); u != "" || err != nil {
		t.Fatal("a missing file gives no credentials and no error")
	}
}

func TestRegistryHosts(t *testing.T) {
	h := hosts(PullOptions{Registries: map[string]Registry{
		"reg.example.com": {Mirrors: []string{"https://m1.example.com", "m2.example.com:5000"}},
		"insecure:5000":   {Insecure: true},
	}}, "reg.example.com")
	got, err := h("reg.example.com")
	if err != nil || len(got) != 3 {
		t.Fatalf("%+v %v", got, err)
	}
	for i, want := range []struct{ scheme, host string }{{"https", "m1.example.com"}, {"https", "m2.example.com:5000"}, {"https", "reg.example.com"}} {
		if got[i].Scheme != want.scheme || got[i].Host != want.host {
			t.Fatalf("endpoint %d: %s://%s, want %s://%s", i, got[i].Scheme, got[i].Host, want.scheme, want.host)
		}
	}
	for host, scheme := range map[string]string{"insecure:5000": "http", "127.0.0.1:5000": "http", "localhost:5000": "http", "docker.io": "https"} {
		got, _ := h(host)
		if got[len(got)-1].Scheme != scheme {
			t.Errorf("%s: scheme %s, want %s", host, got[len(got)-1].Scheme, scheme)
		}
	}
	if got, _ := h("docker.io"); got[0].Host != "registry-1.docker.io" {
		t.Errorf("docker.io goes to %s", got[0].Host)
	}
}

// fakeRegistry serves one image (a manifest with one layer) over the
// distribution API; every request must carry authorization auth when it
// is not "" ("Basic …" or "Bearer …").
func fakeRegistry(t *testing.T, layer []byte, auth string) (host string, manifest digest.Digest) {
	t.Helper()
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(layer)}},
	})
	ld := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
	m, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers: []ocispec.Descriptor{ld},
	})
	blobs := map[string][]byte{digest.FromBytes(cfg).String(): cfg, ld.Digest.String(): layer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth != "" && r.Header.Get("Authorization") != auth {
			scheme, _, _ := strings.Cut(auth, " ")
			w.Header().Set("WWW-Authenticate", scheme+` realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body []byte
		switch p := r.URL.Path; {
		case p == "/v2/":
		case strings.HasPrefix(p, "/v2/test/img/manifests/"):
			body = m
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(m).String())
		case strings.HasPrefix(p, "/v2/test/img/blobs/"):
			b, ok := blobs[strings.TrimPrefix(p, "/v2/test/img/blobs/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			body = b
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), digest.FromBytes(m)
}

// Pull tells its steps layer by layer, uses the credentials given for the
// pulled registry, and a layer already here is not fetched again.
func TestPullEventsAndCredentials(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		creds *Credentials
		auth  string
	}{
		{"basic", &Credentials{Username: "berth", Password: "s3cret:pass"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("berth:s3cret:pass"))},
		{"bearer", &Credentials{RegistryToken: "tok"}, "Bearer tok"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openStore(t, nil)
			host, mdgst := fakeRegistry(t, base, c.auth)
			ref := host + "/test/img:v1"
			noFile := PullOptions{AuthFile: filepath.Join(t.TempDir(), "none.json")}
			if _, err := s.Pull(ctx, ref, noFile); err == nil {
				t.Fatal("a pull without credentials succeeded")
			}
			if len(s.List()) != 0 {
				t.Fatal("a refused pull recorded an image")
			}
			var steps []string
			o := noFile
			o.Credentials = c.creds
			o.Events = func(ev PullEvent) {
				name := [...]string{"resolved", "waiting", "exists", "downloading", "downloaded", "unpacked"}[ev.Step]
				if len(steps) == 0 || steps[len(steps)-1] != name {
					steps = append(steps, name)
				}
				if ev.Step == Resolved && ev.Digest != mdgst {
					t.Errorf("resolved %s, want %s", ev.Digest, mdgst)
				}
				if ev.Step != Resolved && ev.Digest != digest.FromBytes(base) {
					t.Errorf("%s: digest %s is not the layer's", name, ev.Digest)
				}
			}
			if _, err := s.Pull(ctx, ref, o); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(steps, " "); got != "resolved waiting downloading downloaded unpacked" {
				t.Fatalf("steps: %s", got)
			}
			steps = nil
			if _, err := s.Pull(ctx, ref, o); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(steps, " "); got != "resolved waiting exists unpacked" {
				t.Fatalf("steps of a second pull: %s", got)
			}
		})
	}
}
