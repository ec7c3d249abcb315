//go:build man

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/version"
)

// generate handles "berthd generate DIR" in a build with -tags man (make
// gen): it writes DIR/man/man8/berthd.8 from berthd's flag definitions,
// DIR/man/man5/berth.toml.5 and the conffile DIR/berth.toml from the
// configuration schema, and reports true. Other arguments report false,
// and berthd runs as usual.
func generate(args []string) bool {
	if len(args) == 0 || args[0] != "generate" {
		return false
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: berthd generate DIR")
		os.Exit(2)
	}
	if err := writeGenerated(args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "berthd generate:", err)
		os.Exit(1)
	}
	return true
}

func writeGenerated(dir string) error {
	date, err := pageDate()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"man/man8/berthd.8":     berthdPage(date),
		"man/man5/berth.toml.5": configPage(date),
		"berth.toml":            config.Conffile(),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		fmt.Println(p)
	}
	return nil
}

// pageDate is the date of the pages: SOURCE_DATE_EPOCH's when set (a
// reproducible package build), else today's; as cobra dates berthctl's.
func pageDate() (string, error) {
	t := time.Now()
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return "", fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: %w", epoch, err)
		}
		t = time.Unix(sec, 0)
	}
	return t.UTC().Format("Jan 2006"), nil
}

// roff builds a man page. Text given to it is plain: esc makes it safe,
// and a `backquoted` word is set in bold.
type roff struct{ b strings.Builder }

func (r *roff) line(s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	r.b.WriteString(s + "\n")
}

// req writes a request (".SH", ".TP") with its arguments, quoted.
func (r *roff) req(name string, args ...string) {
	for _, a := range args {
		name += ` "` + strings.ReplaceAll(esc(a), `"`, `\(dq`) + `"`
	}
	r.b.WriteString(name + "\n")
}

// para writes paragraphs (separated by "\n\n") of marked-up text.
func (r *roff) para(text string) {
	for i, p := range strings.Split(text, "\n\n") {
		if i > 0 {
			r.req(".PP")
		}
		r.line(markup(strings.Join(strings.Fields(p), " ")))
	}
}

// item writes a tagged paragraph: tag (raw roff) and marked-up text.
func (r *roff) item(tag, text string) {
	r.req(".TP")
	r.line(tag)
	r.line(markup(strings.Join(strings.Fields(text), " ")))
}

// markup escapes s, setting `backquoted` parts in bold.
func markup(s string) string {
	parts := strings.Split(s, "`")
	for i, p := range parts {
		parts[i] = esc(p)
		if i%2 == 1 {
			parts[i] = bold(p)
		}
	}
	return strings.Join(parts, "")
}

// esc escapes plain text for roff: backslashes, minus signs (so that
// options and paths copy as typed) and characters outside ASCII.
func esc(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\\':
			b.WriteString(`\e`)
		case c == '-':
			b.WriteString(`\-`)
		case c > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func bold(s string) string { return `\fB` + esc(s) + `\fR` }
func ital(s string) string { return `\fI` + esc(s) + `\fR` }

// ref is a reference to a man page: name(section).
func ref(page string) string {
	name, sec, _ := strings.Cut(strings.TrimSuffix(page, ")"), "(")
	return bold(name) + "(" + sec + ")"
}

func header(r *roff, title, section, date string) {
	r.req(".TH", title, section, date, "berth "+version.String(), "berth")
	r.req(".nh")
	r.req(".ad l")
}

func seeAlso(r *roff, pages ...string) {
	r.req(".SH", "SEE ALSO")
	refs := make([]string, len(pages))
	for i, p := range pages {
		refs[i] = ref(p)
	}
	r.line(strings.Join(refs, ", "))
}

// berthdPage is berthd(8): a fixed description and the options from
// registerFlags.
func berthdPage(date string) []byte {
	r := &roff{}
	header(r, "BERTHD", "8", date)
	r.req(".SH", "NAME")
	r.line(`berthd \- the berth container engine`)
	r.req(".SH", "SYNOPSIS")
	r.line(bold("berthd") + " [" + ital("OPTIONS") + "]")
	r.req(".SH", "DESCRIPTION")
	r.para(`berthd is the engine of berth, a systemd-native container engine in
docker's tradition. It keeps containers, images, volumes and networks, serves
the D-Bus API ` + "`io.berth.Engine1`" + ` on the system bus, which
` + "`berthctl`" + ` speaks, and a subset of the Docker Engine API on the socket
` + "`/run/berth/berth.sock`" + `, which an unmodified docker CLI speaks
(DOCKER_HOST=unix:///run/berth/berth.sock).

berthd is not started by hand. systemd starts it on demand, as
` + "`berthd.service`" + ` (Type=notify): when a client connects to
` + "`berthd.socket`" + `, or when a D-Bus call activates the bus name
io.berth.Engine1 (the unit alias dbus-io.berth.Engine1.service). After
idle-timeout (berth.toml(5), 60 seconds unless set) with no request, no call in
flight and no open stream, berthd exits; the next call starts it again.

Containers do not depend on berthd: each container start is a transient scope
unit berth-ID.scope in ` + "`berth.slice`" + ` (the configuration's
cgroup-parent), in which a berth-monitor process runs the OCI runtime, owns
the container's output (to the journal and a local log) and records its exit.
Containers keep running while berthd is gone, is stopped or is restarted; a
new berthd finds them and reports the exits that happened meanwhile. At boot,
` + "`berth-restore.service`" + ` starts the containers whose restart policy
brings them back (always, and unless-stopped ones that were not stopped).

Only root and members of the group berth may create or change containers;
membership of berth is equivalent to root. Any local user may list containers
and read their state.`)
	r.req(".SH", "OPTIONS")
	r.para(`berthd takes its settings from berth.toml(5); its options name files and
sockets. An option is written with one or two dashes.`)
	var flags []*flag.Flag
	fs := flag.NewFlagSet("berthd", flag.ContinueOnError)
	registerFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	for _, f := range flags {
		name, usage := flag.UnquoteUsage(f)
		tag := bold("--" + f.Name)
		if name != "" {
			tag += " " + ital(name)
		}
		if name != "" && f.DefValue != "" {
			usage += ` (default: ` + f.DefValue + `)`
		}
		r.item(tag, usage)
	}
	r.req(".SH", "RELOAD")
	r.para("`berthctl reload`" + `, ` + "`systemctl reload berthd`" + ` (which runs
berthctl reload) and SIGHUP make berthd read its configuration files again. A
valid configuration is put in force at once and each request keeps the one it
started with; an invalid one changes nothing, and the reload fails naming the
file, line and reason. data-root and exec-root cannot change by reload.
berthctl reload also works while berthd is not running: it starts it.`)
	r.req(".SH", "SIGNALS")
	r.item(bold("SIGTERM")+", "+bold("SIGINT"), `berthd stops serving and exits.
Containers keep running.`)
	r.item(bold("SIGHUP"), `Reload the configuration, as above.`)
	r.req(".SH", "EXIT STATUS")
	r.para(`0 after an idle exit, a signal or the loss of its bus connection (the next
call starts a new berthd). 1 when berthd cannot start, for example on an
invalid configuration file; the reason goes to the journal and to the client
whose call started berthd.`)
	r.req(".SH", "LOGGING")
	r.para(`Under systemd berthd logs to the journal with structured fields
(` + "`journalctl -u berthd`" + `), else to standard error. Containers' output
and berth's events (created, started, died, removed, reloaded...) are journal
entries too.`)
	r.req(".SH", "FILES")
	for _, f := range []struct{ path, what string }{
		{config.DefaultFile, "The configuration, berth.toml(5)."},
		{config.DefaultDropInDir + "/*.toml", "Drop-in configuration files, read after berth.toml in lexical order."},
		{"/var/lib/berth", "The default data-root: container records, images, volumes and networks."},
		{"/var/lib/berth/roots.json", "The data-root and exec-root in use (--roots-file)."},
		{"/run/berth", "The default exec-root: state that does not survive a reboot."},
		{"/run/berth/berth.sock", "The Engine API socket of berthd.socket (mode 0660, group berth)."},
		{"/usr/libexec/berth/berth-monitor", "The per-container monitor."},
	} {
		r.item(bold(f.path), f.what)
	}
	r.req(".SH", "UNITS")
	for _, u := range []struct{ unit, what string }{
		{"berthd.socket", "Listens on /run/berth/berth.sock and starts berthd.service; enabled, it is what keeps berth available."},
		{"berthd.service", "Runs berthd, started by its socket or by D-Bus; not enabled on its own."},
		{"berth-restore.service", "Once per boot, starts the containers whose restart policy brings them back."},
		{"berth.slice", "Holds the containers' scopes; stopping it stops every container."},
		{"berth-ID.scope", "One per running container: its monitor and its processes."},
	} {
		r.item(bold(u.unit), u.what)
	}
	seeAlso(r, "berthctl(1)", "berth.toml(5)", "systemd.socket(5)", "systemd.service(5)", "journalctl(1)")
	return []byte(r.b.String())
}

// configPage is berth.toml(5), from config.Schema.
func configPage(date string) []byte {
	r := &roff{}
	header(r, "BERTH.TOML", "5", date)
	r.req(".SH", "NAME")
	r.line(`berth.toml \- configuration of berthd, the berth container engine`)
	r.req(".SH", "SYNOPSIS")
	r.line(bold(config.DefaultFile))
	r.req(".br")
	r.line(bold(config.DefaultDropInDir + "/*.toml"))
	r.req(".SH", "DESCRIPTION")
	r.para(`berthd(8) reads its configuration, in TOML, from ` + "`" + config.DefaultFile + "`" + `,
then from the drop-in files ` + "`" + config.DefaultDropInDir + "/*.toml`" + ` in lexical
order. A later file wins per key, and tables merge by key: a [runtimes.NAME]
table in a drop-in adds to or overrides the keys of the same runtime. No file
at all is valid: every key has a default. The installed berth.toml lists every
key, commented out, with its default; put changes in a drop-in.

Parsing is strict: key names are exact and lower case, and an unknown key, a
value of the wrong type or an invalid value (a relative path, a runtime that
is not an executable) is an error that names the file, the line and the key.

` + "`berthctl reload`" + ` (or ` + "`systemctl reload berthd`" + `) puts changed
files in force, or fails with the reason and changes nothing. Every key can
change by reload except data-root and exec-root, which need a restart of
berthd.`)
	keys := config.Schema()
	r.req(".SH", "KEYS")
	keyItem := func(k config.Key) {
		tag := bold(k.Name) + " = " + ital(k.Type)
		text := k.Doc
		switch {
		case k.Default != "":
			text += " Default: " + k.Default + "."
		case k.Type != "table":
			text += " No default: it must be set."
		}
		r.item(tag, text)
	}
	for _, k := range keys {
		if k.Table == "" && k.Type != "table" {
			keyItem(k)
		}
	}
	var example []string
	for _, t := range keys {
		if t.Type != "table" {
			continue
		}
		sub := []config.Key{}
		for _, k := range keys {
			if strings.HasPrefix(k.Table, t.Name+".") {
				sub = append(sub, k)
			}
		}
		if len(sub) == 0 {
			continue
		}
		r.req(".SS", "["+sub[0].Table+"]")
		r.para(t.Doc)
		example = append(example, "", "["+t.Name+"."+t.Example+"]")
		for _, k := range sub {
			keyItem(k)
			example = append(example, k.Name+" = "+k.Example)
		}
	}
	r.req(".SH", "EXAMPLE")
	r.para(`A drop-in, say ` + config.DefaultDropInDir + `/50-local.toml, that adds a
runtime and sets up a registry:`)
	r.req(".PP")
	r.req(".RS", "4")
	r.req(".nf")
	for _, l := range example[1:] {
		if l == "" {
			r.req(".sp")
			continue
		}
		r.line(esc(l))
	}
	r.req(".fi")
	r.req(".RE")
	r.req(".SH", "FILES")
	r.item(bold(config.DefaultFile), "The configuration file, a conffile of the package.")
	r.item(bold(config.DefaultDropInDir+"/*.toml"), "Drop-in files, read after it in lexical order.")
	seeAlso(r, "berthd(8)", "berthctl(1)")
	return []byte(r.b.String())
}
