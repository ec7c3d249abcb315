// Command pushimage pushes the image of a docker save or OCI archive to a
// registry over plain HTTP, for the end-to-end tests (which run a local
// registry on 127.0.0.1), with PUSH_USER and PUSH_PASSWORD as credentials
// if set. With -htpasswd it prints an htpasswd line (bcrypt) for the
// registry's basic authentication instead.
//
//	pushimage ARCHIVE HOST:PORT/REPO:TAG
//	pushimage -htpasswd USER PASSWORD
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-htpasswd" {
		h, err := bcrypt.GenerateFromPassword([]byte(os.Args[3]), bcrypt.DefaultCost)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pushimage:", err)
			os.Exit(1)
		}
		fmt.Printf("%s:%s\n", os.Args[2], h)
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pushimage ARCHIVE HOST:PORT/REPO:TAG")
		os.Exit(2)
	}
	if err := push(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "pushimage:", err)
		os.Exit(1)
	}
}

func push(file, ref string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "pushimage")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cs, err := local.NewStore(tmp)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	idxDesc, err := archive.ImportIndex(ctx, cs, f)
	if err != nil {
		return err
	}
	b, err := content.ReadBlob(ctx, cs, idxDesc)
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return err
	}
	if len(idx.Manifests) == 0 {
		return fmt.Errorf("%s: no image", file)
	}
	m := idx.Manifests[0]
	m.Annotations = nil
	auth := docker.NewDockerAuthorizer(docker.WithAuthCreds(func(string) (string, string, error) {
		return os.Getenv("PUSH_USER"), os.Getenv("PUSH_PASSWORD"), nil
	}))
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(docker.MatchAllHosts), docker.WithAuthorizer(auth))})
	pusher, err := resolver.Pusher(ctx, ref)
	if err != nil {
		return err
	}
	return remotes.PushContent(ctx, pusher, m, cs, nil, platforms.All, nil)
}
