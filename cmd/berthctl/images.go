package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type imageEntry = contract.ImageEntry

// imageCommands are the image verbs: "image SUBCOMMAND" and docker's
// top-level shortcuts (images, pull, load, save, tag, rmi).
func imageCommands(cl *client) []*cobra.Command {
	image := groupCommand("image COMMAND", "Manage images")
	ls := imagesCommand(cl)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"list"}
	rm := rmiCommand(cl)
	rm.Use, rm.Aliases = "rm [OPTIONS] IMAGE...", []string{"remove"}
	image.AddCommand(ls, pullCommand(cl), loadCommand(cl), saveCommand(cl), imageInspectCommand(cl),
		tagCommand(cl), rm, imagePruneCommand(cl))
	return []*cobra.Command{image, imagesCommand(cl), pullCommand(cl), loadCommand(cl), saveCommand(cl),
		tagCommand(cl), rmiCommand(cl)}
}

func splitTag(t string) (repo, tag string) {
	if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
		return t[:i], t[i+1:]
	}
	return t, "<none>"
}

const (
	imagesDefaultTable = `table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`
	imagesDigestTable  = `table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`
)

var imageHeaders = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
	"Size": "SIZE", "Architecture": "ARCHITECTURE", "Digest": "DIGEST",
}

// imageRow is one repository:tag of an image as images templates see it.
type imageRow struct {
	e                 imageEntry
	repo, tag, digest string
	noTrunc           bool
}

func (r imageRow) Repository() string { return r.repo }
func (r imageRow) Tag() string        { return r.tag }

// Digest is the repository digest of the row's repository, as docker's
// images --digests.
func (r imageRow) Digest() string { return r.digest }
func (r imageRow) ID() string {
	if r.noTrunc {
		return r.e.ID
	}
	return shortImageID(r.e.ID)
}
func (r imageRow) CreatedSince() string {
	if r.e.Created == 0 {
		return "N/A"
	}
	return human(ago(r.e.Created)) + " ago"
}
func (r imageRow) CreatedAt() string {
	return time.UnixMicro(int64(r.e.Created)).Format("2006-01-02 15:04:05 -0700 MST")
}
func (r imageRow) Size() string         { return units.HumanSizeWithPrecision(float64(r.e.Size), 3) }
func (r imageRow) Architecture() string { return r.e.Architecture }

// MarshalJSON gives {{json .}} docker's shape.
func (r imageRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"Repository": r.repo, "Tag": r.tag, "ID": r.ID(), "CreatedSince": r.CreatedSince(),
		"CreatedAt": r.CreatedAt(), "Size": r.Size(), "Architecture": r.e.Architecture, "Digest": r.digest})
}

// imageRows gives an image's rows as docker's images does: one per
// repository:tag with the digest of that repository, one per repository
// digest whose repository has no tag, and <none> for an image with
// neither.
func imageRows(e imageEntry) []imageRow {
	digestOf := map[string]string{}
	var digestRepos []string
	for _, d := range e.RepoDigests {
		repo, dgst, ok := strings.Cut(d, "@")
		if !ok {
			continue
		}
		if _, seen := digestOf[repo]; !seen {
			digestRepos = append(digestRepos, repo)
		}
		digestOf[repo] = dgst
	}
	var rows []imageRow
	tagged := map[string]bool{}
	for _, t := range e.RepoTags {
		repo, tag := splitTag(t)
		tagged[repo] = true
		d := digestOf[repo]
		if d == "" {
			d = "<none>"
		}
		rows = append(rows, imageRow{e: e, repo: repo, tag: tag, digest: d})
	}
	for _, repo := range digestRepos {
		if !tagged[repo] {
			rows = append(rows, imageRow{e: e, repo: repo, tag: "<none>", digest: digestOf[repo]})
		}
	}
	if len(rows) == 0 {
		rows = append(rows, imageRow{e: e, repo: "<none>", tag: "<none>", digest: "<none>"})
	}
	return rows
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

func imagesCommand(cl *client) *cobra.Command {
	var quiet, noTrunc, digests bool
	var format string
	cmd := &cobra.Command{
		Use:   "images [OPTIONS]",
		Short: "List images",
		Long: "List images.\n\n--format takes a Go template with docker's fields (.Repository .Tag .ID .CreatedSince .CreatedAt .Size) " +
			".Digest and functions; a \"table\" prefix prints aligned columns with a header. --format json prints a JSON array.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var tmpl *formatTemplate
			if format == "" || format == "table" {
				format = imagesDefaultTable
				if digests {
					format = imagesDigestTable
				}
			}
			if format != "json" && !quiet {
				var err error
				if tmpl, err = parseTemplate(format); err != nil {
					return usagef("--format: %w", err)
				}
			}
			var list []imageEntry
			if err := cl.call("ListImages", []any{&list}, noOpts()); err != nil {
				return err
			}
			switch {
			case quiet:
				for _, e := range list {
					if noTrunc {
						fmt.Println(e.ID)
					} else {
						fmt.Println(shortImageID(e.ID))
					}
				}
			case format == "json":
				type row struct {
					ID, Architecture      string
					RepoTags, RepoDigests []string
					Created               time.Time
					Size                  uint64
				}
				rows := []row{}
				for _, e := range list {
					rows = append(rows, row{ID: e.ID, Architecture: e.Architecture, RepoTags: e.RepoTags, RepoDigests: e.RepoDigests,
						Created: time.UnixMicro(int64(e.Created)).UTC(), Size: e.Size})
				}
				b, _ := json.MarshalIndent(rows, "", "  ")
				fmt.Println(string(b))
			default:
				var rows []any
				for _, e := range list {
					for _, r := range imageRows(e) {
						r.noTrunc = noTrunc
						rows = append(rows, r)
					}
				}
				return tmpl.write(os.Stdout, imageHeaders, rows)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Print ids only")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Do not truncate ids")
	cmd.Flags().BoolVar(&digests, "digests", false, "Show repository digests (a DIGEST column)")
	cmd.Flags().StringVar(&format, "format", "", "table (default), json, or a Go template (\"table ...\" for columns)")
	return cmd
}

// progressReader reports how much of a file has been read, on a terminal.
type progressReader struct {
	r          io.Reader
	done, size int64
	last       time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if time.Since(p.last) > 100*time.Millisecond || err == io.EOF {
		p.last = time.Now()
		width := 30
		filled := int(int64(width) * p.done / max(p.size, 1))
		fmt.Fprintf(os.Stderr, "\rLoading [%s%s] %s/%s", strings.Repeat("=", min(filled, width)), strings.Repeat(" ", max(width-filled, 0)),
			units.HumanSize(float64(p.done)), units.HumanSize(float64(p.size)))
		if err == io.EOF {
			fmt.Fprintln(os.Stderr)
		}
	}
	return n, err
}

func loadCommand(cl *client) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load a docker save or OCI archive",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in := os.Stdin
			if input == "-" && term.IsTerminal(int(os.Stdin.Fd())) {
				return usagef("no archive: give -i FILE or pipe one to standard input")
			}
			if input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			var src io.Reader = in
			if st, err := in.Stat(); err == nil && st.Mode().IsRegular() && !quiet && term.IsTerminal(int(os.Stderr.Fd())) {
				src = &progressReader{r: in, size: st.Size()}
			}
			// berthd reads the archive from a pipe that we fill.
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			copyErr := make(chan error, 1)
			go func() {
				_, err := io.Copy(pw, src)
				pw.Close()
				copyErr <- err
			}()
			var loaded []contract.LoadedImage
			err = cl.call("LoadImage", []any{&loaded}, dbus.UnixFD(pr.Fd()), noOpts())
			pr.Close()
			if err != nil {
				return err
			}
			if err := <-copyErr; err != nil {
				return fmt.Errorf("read %s: %w", input, err)
			}
			for _, l := range loaded {
				if len(l.Tags) == 0 {
					fmt.Println("Loaded image ID:", l.ID)
				}
				for _, t := range l.Tags {
					fmt.Println("Loaded image:", t)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "-", "Archive to read (docker save or OCI layout, gzip or plain); - is standard input")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "No progress bar")
	return cmd
}

func imageInspectCommand(cl *client) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:               "inspect [OPTIONS] IMAGE...",
		Short:             "Show images as JSON, or through a Go template",
		Args:              minArgs(1),
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectAll(cl, "InspectImage", format, args)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format each object with a Go template, as docker")
	return cmd
}

func tagCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:               "tag SOURCE TARGET",
		Short:             "Give an image another name",
		Args:              exactArgs(2),
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cl.call("TagImage", nil, args[0], args[1])
		},
	}
}

func rmiCommand(cl *client) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:               "rmi [OPTIONS] IMAGE...",
		Short:             "Remove images",
		Args:              minArgs(1),
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, r := range args {
				var untagged []string
				var deleted string
				if err := cl.call("RemoveImage", []any{&untagged, &deleted}, r, map[string]dbus.Variant{"force": dbus.MakeVariant(force)}); err != nil {
					fmt.Fprintln(os.Stderr, "berthctl rmi: "+describe(err))
					failed = true
					continue
				}
				for _, u := range untagged {
					fmt.Println("Untagged:", u)
				}
				if deleted != "" {
					fmt.Println("Deleted:", deleted)
				}
			}
			if failed {
				return &statusError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Remove even if a container uses it")
	return cmd
}

func imagePruneCommand(cl *client) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove blobs and unpacked layers no image uses",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var blobs, layers uint32
			var bytes uint64
			if err := cl.call("PruneImages", []any{&blobs, &layers, &bytes}, noOpts()); err != nil {
				return err
			}
			fmt.Printf("Removed %d blobs and %d unpacked layers; reclaimed %s\n", blobs, layers, units.HumanSize(float64(bytes)))
			return nil
		},
	}
}

func saveCommand(cl *client) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "save [OPTIONS] IMAGE...",
		Short:             "Write images to an archive (docker and OCI)",
		Args:              minArgs(1),
		ValidArgsFunction: completeImages(cl),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := os.Stdout
			if output != "" {
				f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp*")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				defer f.Close()
				out = f
			} else if term.IsTerminal(int(os.Stdout.Fd())) {
				return usagef("refusing to write an archive to a terminal: use -o FILE or a redirect")
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			copied := make(chan error, 1)
			go func() {
				_, err := io.Copy(out, pr)
				pr.Close()
				copied <- err
			}()
			err = cl.call("SaveImage", nil, args, dbus.UnixFD(pw.Fd()), noOpts())
			pw.Close()
			if cerr := <-copied; err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if output != "" {
				if err := out.Sync(); err != nil {
					return err
				}
				return os.Rename(out.Name(), output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to this file (default: standard output, if not a terminal)")
	return cmd
}

func pullCommand(cl *client) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] IMAGE",
		Short: "Pull an image from a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := pull(cl, args[0], !quiet && term.IsTerminal(int(os.Stderr.Fd())))
			if err != nil {
				return err
			}
			fmt.Println(name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "No progress bar")
	return cmd
}

// pull pulls ref, drawing progress on stderr if asked, and returns the
// name pulled.
func pull(c *client, ref string, progress bool) (string, error) {
	if err := c.connect(); err != nil {
		return "", err
	}
	idb := make([]byte, 8)
	rand.Read(idb)
	pullID := hex.EncodeToString(idb)
	opts := map[string]dbus.Variant{}
	stop := func() {}
	if progress {
		opts["pull_id"] = dbus.MakeVariant(pullID)
		match := []dbus.MatchOption{dbus.WithMatchInterface(contract.ManagerInterface), dbus.WithMatchMember("ImagePullProgress"), dbus.WithMatchArg(0, pullID)}
		if err := c.conn.AddMatchSignal(match...); err == nil {
			sigs := make(chan *dbus.Signal, 64)
			c.conn.Signal(sigs)
			done := make(chan struct{})
			go func() {
				for {
					select {
					case s := <-sigs:
						if len(s.Body) == 5 {
							d, _ := s.Body[1].(uint64)
							t, _ := s.Body[2].(uint64)
							b, _ := s.Body[3].(uint32)
							bt, _ := s.Body[4].(uint32)
							fmt.Fprintf(os.Stderr, "\rPulling %s: %s/%s, %d/%d blobs   ", ref, units.HumanSize(float64(d)), units.HumanSize(float64(t)), b, bt)
						}
					case <-done:
						return
					}
				}
			}()
			stop = func() {
				close(done)
				c.conn.RemoveMatchSignal(match...)
				fmt.Fprintln(os.Stderr)
			}
		}
	}
	var id string
	var tags []string
	err := c.call("PullImage", []any{&id, &tags}, ref, opts)
	stop()
	if err != nil {
		return "", err
	}
	if len(tags) > 0 {
		return tags[0], nil
	}
	return id, nil
}
