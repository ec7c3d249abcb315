// Package imagetest writes image archives for tests and the demo: docker
// save archives and OCI-layout archives, from directories or from hand-made
// tar entries (hostile ones included).
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "crypto/sha256" // go-digest needs it registered
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Entry is one tar entry of a hand-made layer.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Body     string
	Linkname string
	Mode     int64
	UID, GID int
	Xattrs   map[string]string // e.g. "user.origin": "test"
}

// Tar makes a layer from entries.
func Tar(entries ...Entry) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: e.Mode, Uid: e.UID, Gid: e.GID,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		for k, v := range e.Xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		tw.WriteHeader(h)
		if h.Size > 0 {
			io.WriteString(tw, e.Body)
		}
	}
	tw.Close()
	return b.Bytes()
}

// TarDir makes a layer from a directory tree. Files named .wh.NAME and
// .wh..wh..opq are written as they are, so a directory can hold
// whiteouts. Owners, modes, symlinks and hard links are kept.
func TarDir(dir string) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	inodes := map[uint64]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
			if first, seen := inodes[st.Ino]; seen {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				inodes[st.Ino] = h.Name
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Image describes an archive to write.
type Image struct {
	Ref    string // e.g. "busybox:latest"; empty for none
	Config ocispec.ImageConfig
	// Healthcheck is docker's HEALTHCHECK in the config (nil: none).
	Healthcheck *dockerspec.HealthcheckConfig
	Layers      [][]byte // uncompressed tars, lowest first
	// Gzip compresses the layers (OCI archives only; docker save archives
	// hold plain tars).
	Gzip bool
	// Mangle, if set, may change the blobs (by file name in the archive)
	// before they are written, to make broken archives.
	Mangle func(name string, data []byte) []byte
	// Skip leaves these archive file names out.
	Skip map[string]bool
	// Junk are members no manifest references (blobs/sha256/<hex> in an
	// OCI archive, <hex>.junk in a docker save archive).
	Junk [][]byte
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func config(img Image) []byte {
	c := ocispec.Image{
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   img.Config,
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	c.Created = &created
	for _, l := range img.Layers {
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, digest.FromBytes(l))
	}
	if img.Healthcheck != nil {
		d := dockerspec.DockerOCIImage{Image: c}
		d.Config.ImageConfig = img.Config
		d.Config.Healthcheck = img.Healthcheck
		b, _ := json.Marshal(d)
		return b
	}
	b, _ := json.Marshal(c)
	return b
}

type archiveWriter struct {
	tw   *tar.Writer
	img  Image
	err  error
	seen map[string]bool
}

func (a *archiveWriter) file(name string, data []byte) {
	if a.err != nil || a.seen[name] || a.img.Skip[name] {
		return
	}
	a.seen[name] = true
	if a.img.Mangle != nil {
		data = a.img.Mangle(name, data)
	}
	if a.err = a.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); a.err == nil {
		_, a.err = a.tw.Write(data)
	}
}

// WriteDocker writes a docker save archive.
func WriteDocker(w io.Writer, img Image) error {
	a := &archiveWriter{tw: tar.NewWriter(w), img: img, seen: map[string]bool{}}
	cfg := config(img)
	cfgName := digest.FromBytes(cfg).Encoded() + ".json"
	var layers []string
	for _, l := range img.Layers {
		name := digest.FromBytes(l).Encoded() + "/layer.tar"
		a.file(name, l)
		layers = append(layers, name)
	}
	a.file(cfgName, cfg)
	for _, j := range img.Junk {
		a.file(digest.FromBytes(j).Encoded()+".junk", j)
	}
	m := []map[string]any{{"Config": cfgName, "Layers": layers, "RepoTags": []string{}}}
	if img.Ref != "" {
		m[0]["RepoTags"] = []string{img.Ref}
	}
	mb, _ := json.Marshal(m)
	a.file("manifest.json", mb)
	if a.err != nil {
		return a.err
	}
	return a.tw.Close()
}

// WriteOCI writes an OCI image-layout archive; the index names the image
// with the annotations containerd and docker write.
func WriteOCI(w io.Writer, img Image) error {
	a := &archiveWriter{tw: tar.NewWriter(w), img: img, seen: map[string]bool{}}
	blob := func(mt string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
		a.file("blobs/sha256/"+d.Digest.Encoded(), data)
		return d
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest}
	for _, l := range img.Layers {
		if img.Gzip {
			m.Layers = append(m.Layers, blob(ocispec.MediaTypeImageLayerGzip, gz(l)))
		} else {
			m.Layers = append(m.Layers, blob(ocispec.MediaTypeImageLayer, l))
		}
	}
	m.Config = blob(ocispec.MediaTypeImageConfig, config(img))
	for _, j := range img.Junk {
		blob("application/octet-stream", j)
	}
	mb, _ := json.Marshal(m)
	md := blob(ocispec.MediaTypeImageManifest, mb)
	if img.Ref != "" {
		name := img.Ref
		if !strings.Contains(name, "/") {
			name = "docker.io/library/" + name
		}
		tag := name[strings.LastIndex(name, ":")+1:]
		md.Annotations = map[string]string{"io.containerd.image.name": name, ocispec.AnnotationRefName: tag}
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{md}}
	ib, _ := json.Marshal(idx)
	a.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	a.file("index.json", ib)
	if a.err != nil {
		return a.err
	}
	return a.tw.Close()
}

// Write writes img as format "docker" or "oci".
func Write(w io.Writer, format string, img Image) error {
	switch format {
	case "docker":
		return WriteDocker(w, img)
	case "oci":
		return WriteOCI(w, img)
	}
	return fmt.Errorf("format %q: want docker or oci", format)
}
