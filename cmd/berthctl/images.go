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
	"text/tabwriter"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/docker/go-units"
	"github.com/godbus/dbus/v5"
	"golang.org/x/term"
)

type imageEntry = contract.ImageEntry

// cmdImage dispatches "berthctl image SUBCOMMAND".
func cmdImage(c *client, args []string) (int, error) {
	subs := map[string]func(*client, []string) (int, error){
		"ls": cmdImages, "list": cmdImages, "load": cmdLoad, "pull": cmdPull, "inspect": cmdImageInspect,
		"tag": cmdTag, "rm": cmdRmi, "remove": cmdRmi, "prune": cmdImagePrune, "save": cmdSave,
	}
	if len(args) == 0 || subs[args[0]] == nil {
		fmt.Fprintln(os.Stderr, "Usage: berthctl image ls|pull|load|save|inspect|tag|rm|prune [OPTIONS]")
		return 2, nil
	}
	return subs[args[0]](c, args[1:])
}

func splitTag(t string) (repo, tag string) {
	if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
		return t[:i], t[i+1:]
	}
	return t, "<none>"
}

func cmdImages(c *client, args []string) (int, error) {
	fs := newFlags("images", "[-q] [--format table|json]")
	quiet := fs.Bool("q", false, "print ids only")
	format := fs.String("format", "table", "table or json")
	if _, err := parse(fs, args); err != nil {
		return 2, nil
	}
	var list []imageEntry
	if err := c.call("ListImages", []any{&list}, noOpts()); err != nil {
		return 1, err
	}
	short := func(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }
	switch {
	case *quiet:
		for _, e := range list {
			fmt.Println(short(e.ID))
		}
	case *format == "json":
		type row struct {
			ID, Architecture string
			RepoTags         []string
			Created          time.Time
			Size             uint64
		}
		rows := []row{}
		for _, e := range list {
			rows = append(rows, row{ID: e.ID, Architecture: e.Architecture, RepoTags: e.RepoTags, Created: time.UnixMicro(int64(e.Created)).UTC(), Size: e.Size})
		}
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Println(string(b))
	case *format == "table":
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
		for _, e := range list {
			created := "N/A"
			if e.Created > 0 {
				created = human(ago(e.Created)) + " ago"
			}
			tags := e.RepoTags
			if len(tags) == 0 {
				tags = []string{"<none>:<none>"}
			}
			for _, t := range tags {
				repo, tag := splitTag(t)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, short(e.ID), created, units.HumanSizeWithPrecision(float64(e.Size), 3))
			}
		}
		tw.Flush()
	default:
		return 2, fmt.Errorf("--format %q: want table or json", *format)
	}
	return 0, nil
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

func cmdLoad(c *client, args []string) (int, error) {
	fs := newFlags("load", "[-i FILE|-] [-q]")
	input := fs.String("i", "-", "archive to read (docker save or OCI layout, gzip or plain); - is standard input")
	fs.StringVar(input, "input", "-", "same as -i")
	quiet := fs.Bool("q", false, "no progress bar")
	if _, err := parse(fs, args); err != nil {
		return 2, nil
	}
	in := os.Stdin
	if *input == "-" && term.IsTerminal(int(os.Stdin.Fd())) {
		return 2, fmt.Errorf("no archive: give -i FILE or pipe one to standard input")
	}
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return 1, err
		}
		defer f.Close()
		in = f
	}
	var src io.Reader = in
	if st, err := in.Stat(); err == nil && st.Mode().IsRegular() && !*quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		src = &progressReader{r: in, size: st.Size()}
	}
	// berthd reads the archive from a pipe that we fill.
	pr, pw, err := os.Pipe()
	if err != nil {
		return 1, err
	}
	copyErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(pw, src)
		pw.Close()
		copyErr <- err
	}()
	var loaded []contract.LoadedImage
	err = c.call("LoadImage", []any{&loaded}, dbus.UnixFD(pr.Fd()), noOpts())
	pr.Close()
	if err != nil {
		return 1, err
	}
	if err := <-copyErr; err != nil {
		return 1, fmt.Errorf("read %s: %w", *input, err)
	}
	for _, l := range loaded {
		if len(l.Tags) == 0 {
			fmt.Println("Loaded image ID:", l.ID)
		}
		for _, t := range l.Tags {
			fmt.Println("Loaded image:", t)
		}
	}
	return 0, nil
}

func cmdImageInspect(c *client, args []string) (int, error) {
	return inspectAll(c, "InspectImage", "image", args)
}

func cmdTag(c *client, args []string) (int, error) {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "Usage: berthctl tag SOURCE TARGET")
		return 2, nil
	}
	return 0, c.call("TagImage", nil, args[0], args[1])
}

func cmdRmi(c *client, args []string) (int, error) {
	fs := newFlags("rmi", "[-f] IMAGE...")
	force := fs.Bool("f", false, "remove even if a container uses it")
	fs.BoolVar(force, "force", false, "same as -f")
	rest, err := parse(fs, args)
	if err != nil || len(rest) == 0 {
		fs.Usage()
		return 2, nil
	}
	code := 0
	for _, r := range rest {
		var untagged []string
		var deleted string
		if err := c.call("RemoveImage", []any{&untagged, &deleted}, r, map[string]dbus.Variant{"force": dbus.MakeVariant(*force)}); err != nil {
			fmt.Fprintln(os.Stderr, "berthctl rmi: "+describe(err))
			code = 1
			continue
		}
		for _, u := range untagged {
			fmt.Println("Untagged:", u)
		}
		if deleted != "" {
			fmt.Println("Deleted:", deleted)
		}
	}
	return code, nil
}

func cmdImagePrune(c *client, args []string) (int, error) {
	var blobs, layers uint32
	var bytes uint64
	if err := c.call("PruneImages", []any{&blobs, &layers, &bytes}, noOpts()); err != nil {
		return 1, err
	}
	fmt.Printf("Removed %d blobs and %d unpacked layers; reclaimed %s\n", blobs, layers, units.HumanSize(float64(bytes)))
	return 0, nil
}

func cmdSave(c *client, args []string) (int, error) {
	fs := newFlags("save", "[-o FILE] IMAGE...")
	output := fs.String("o", "", "write to this file (default: standard output, if not a terminal)")
	fs.StringVar(output, "output", "", "same as -o")
	rest, err := parse(fs, args)
	if err != nil || len(rest) == 0 {
		fs.Usage()
		return 2, nil
	}
	out := os.Stdout
	if *output != "" {
		f, err := os.CreateTemp(filepath.Dir(*output), "."+filepath.Base(*output)+".tmp*")
		if err != nil {
			return 1, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		out = f
	} else if term.IsTerminal(int(os.Stdout.Fd())) {
		return 2, fmt.Errorf("refusing to write an archive to a terminal: use -o FILE or a redirect")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 1, err
	}
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, pr)
		pr.Close()
		copied <- err
	}()
	err = c.call("SaveImage", nil, rest, dbus.UnixFD(pw.Fd()), noOpts())
	pw.Close()
	if cerr := <-copied; err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return 1, err
	}
	if *output != "" {
		if err := out.Sync(); err != nil {
			return 1, err
		}
		if err := os.Rename(out.Name(), *output); err != nil {
			return 1, err
		}
	}
	return 0, nil
}

func cmdPull(c *client, args []string) (int, error) {
	fs := newFlags("pull", "[-q] IMAGE")
	quiet := fs.Bool("q", false, "no progress bar")
	rest, err := parse(fs, args)
	if err != nil || len(rest) != 1 {
		fs.Usage()
		return 2, nil
	}
	name, err := pull(c, rest[0], !*quiet && term.IsTerminal(int(os.Stderr.Fd())))
	if err != nil {
		return 1, err
	}
	fmt.Println(name)
	return 0, nil
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
