// Command mkimage writes a docker save or OCI-layout archive from layer
// directories, for the end-to-end tests, the demo and the benchmarks (no
// docker needed). A file named .wh.NAME or .wh..wh..opq in a layer
// directory is a whiteout, as in the layer format.
//
//	mkimage -format docker|oci -ref busybox:latest [-gzip] [-cmd '["sh"]']
//	        [-entrypoint '["x"]'] [-env K=V]... [-workdir DIR] [-user U] [-volume /PATH]...
//	        [-healthcheck JSON] [-small-layers N] [-junk BYTES] -o OUT.tar LAYERDIR...
//
// -small-layers N adds N small layers above the directories: layer i
// (1…N) holds many/i ("layer i") and many/gone-i, and removes
// many/gone-(i-1) with a whiteout, so that of the gone-* files only the
// top layer's is left. -junk BYTES adds an archive member of that size
// that no manifest references.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/berthd/berth/images/imagetest"
)

type multi []string

func (m *multi) String() string     { return fmt.Sprint(*m) }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	format := flag.String("format", "docker", "docker or oci")
	ref := flag.String("ref", "", "image name, e.g. busybox:latest")
	gz := flag.Bool("gzip", false, "gzip the layers (oci)")
	cmd := flag.String("cmd", "", "Cmd as a JSON array")
	entrypoint := flag.String("entrypoint", "", "Entrypoint as a JSON array")
	workdir := flag.String("workdir", "", "WorkingDir")
	user := flag.String("user", "", "User")
	stopSignal := flag.String("stop-signal", "", "StopSignal")
	out := flag.String("o", "", "output file")
	junk := flag.Int("junk", 0, "add an unreferenced archive member of this many bytes")
	health := flag.String("healthcheck", "", `HEALTHCHECK as docker's JSON (e.g. {"Test":["CMD-SHELL","true"],"Interval":1000000000})`)
	small := flag.Int("small-layers", 0, "add this many small layers (many/1 … many/N, whiteouts of many/gone-*)")
	var env, evil, vols multi
	flag.Var(&env, "env", "K=V (repeatable)")
	flag.Var(&vols, "volume", "a VOLUME entry of the image config (repeatable)")
	flag.Var(&evil, "evil-entry", "add a layer with one regular file of this exact name (e.g. ../../x), for tests of refusals")
	flag.Parse()
	if *out == "" || flag.NArg()+len(evil)+*small == 0 || *small < 0 {
		flag.Usage()
		os.Exit(2)
	}
	img := imagetest.Image{Ref: *ref, Gzip: *gz}
	if *junk > 0 {
		img.Junk = [][]byte{bytes.Repeat([]byte{'j'}, *junk)}
	}
	img.Config.Env = env
	img.Config.WorkingDir = *workdir
	img.Config.User = *user
	img.Config.StopSignal = *stopSignal
	if len(vols) > 0 {
		img.Config.Volumes = map[string]struct{}{}
		for _, v := range vols {
			img.Config.Volumes[v] = struct{}{}
		}
	}
	if *health != "" {
		if err := json.Unmarshal([]byte(*health), &img.Healthcheck); err != nil {
			fail(fmt.Errorf("-healthcheck %q: %w", *health, err))
		}
	}
	for flagValue, dst := range map[string]*[]string{*cmd: &img.Config.Cmd, *entrypoint: &img.Config.Entrypoint} {
		if flagValue != "" {
			if err := json.Unmarshal([]byte(flagValue), dst); err != nil {
				fail(fmt.Errorf("%q: %w", flagValue, err))
			}
		}
	}
	for _, dir := range flag.Args() {
		l, err := imagetest.TarDir(dir)
		if err != nil {
			fail(err)
		}
		img.Layers = append(img.Layers, l)
	}
	for i := 1; i <= *small; i++ {
		entries := []imagetest.Entry{
			{Name: "many/", Type: tar.TypeDir, Mode: 0o755},
			{Name: fmt.Sprintf("many/%d", i), Body: fmt.Sprintf("layer %d\n", i), Mode: 0o644},
			{Name: fmt.Sprintf("many/gone-%d", i), Body: "gone\n", Mode: 0o644},
		}
		if i > 1 {
			entries = append(entries, imagetest.Entry{Name: fmt.Sprintf("many/.wh.gone-%d", i-1)})
		}
		img.Layers = append(img.Layers, imagetest.Tar(entries...))
	}
	for _, name := range evil {
		img.Layers = append(img.Layers, imagetest.Tar(imagetest.Entry{Name: name, Body: "evil\n"}))
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if err := imagetest.Write(f, *format, img); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkimage:", err)
	os.Exit(1)
}
