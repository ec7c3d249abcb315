package images

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
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
