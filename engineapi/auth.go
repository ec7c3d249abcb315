package engineapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthd/berth/images"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
)

// auth is POST /auth, docker login's check of credentials against a
// registry. berthd keeps nothing: the client stores the credentials and
// sends them with each pull (X-Registry-Auth), as with dockerd.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) error {
	// Email: older clients send it; docker ignores it since 17.06.
	var body struct {
		registry.AuthConfig
		Email string `json:"email,omitempty"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	a := body.AuthConfig
	if a.Auth != "" && a.Username == "" {
		b, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return fmt.Errorf("auth: not base64: %w", errdefs.ErrInvalidArgument)
		}
		a.Username, a.Password, _ = strings.Cut(string(b), ":")
	}
	host := registryHost(a.ServerAddress)
	creds := &images.Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	err := images.Login(r.Context(), images.PullOptions{Registries: images.Registries(s.snapshot().Registries), Credentials: creds}, host)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}

// registryHost is the registry host of a docker login server address:
// "" and docker's index address are docker.io; a scheme and a path are
// dropped.
func registryHost(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	addr, _, _ = strings.Cut(addr, "/")
	switch addr {
	case "", "index.docker.io", "registry-1.docker.io", "docker.io":
		return "docker.io"
	}
	return addr
}
