package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthd/berth/errs"
	"github.com/berthd/berth/runtimes"
	"github.com/containerd/errdefs"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Default locations of the configuration files.
const (
	DefaultFile      = "/etc/berth/berth.toml"
	DefaultDropInDir = "/etc/berth/berth.toml.d"
)

// Duration is a time.Duration written in TOML as a string such as "60s".
type Duration time.Duration

// UnmarshalText parses Go duration syntax; "0" is allowed.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"60s\", \"5m\" or \"0\")", string(b))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the Go duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Runtime is one [runtimes.NAME] table.
type Runtime struct {
	Path string   `toml:"path" json:"path"`
	Args []string `toml:"args" json:"args,omitempty"`
}

// Registry is one [registries."HOST[:PORT]"] table.
type Registry struct {
	// Insecure allows plain HTTP and unverified TLS for this registry.
	Insecure bool `toml:"insecure" json:"insecure,omitempty"`
	// Mirrors are tried in order before the registry for pulls.
	Mirrors []string `toml:"mirrors" json:"mirrors,omitempty"`
}

// Config is what the files say, with defaults filled in.
type Config struct {
	DataRoot       string             `toml:"data-root" json:"data-root"`
	ExecRoot       string             `toml:"exec-root" json:"exec-root"`
	DefaultRuntime string             `toml:"default-runtime" json:"default-runtime"`
	CgroupParent   string             `toml:"cgroup-parent" json:"cgroup-parent"`
	IdleTimeout    Duration           `toml:"idle-timeout" json:"idle-timeout"`
	LogLevel       string             `toml:"log-level" json:"log-level"`
	DefaultNetwork string             `toml:"default-network" json:"default-network"`
	Runtimes       map[string]Runtime `toml:"runtimes" json:"runtimes"`
	// Registries are keyed by host[:port] as in image references.
	Registries map[string]Registry `toml:"registries" json:"registries,omitempty"`
}

// Defaults returns the configuration used when no file sets a key.
func Defaults() Config {
	return Config{
		DataRoot:       "/var/lib/berth",
		ExecRoot:       "/run/berth",
		DefaultRuntime: "runc",
		CgroupParent:   "berth.slice",
		IdleTimeout:    Duration(60 * time.Second),
		LogLevel:       "info",
		DefaultNetwork: "bridge", // docker's default
		Runtimes:       map[string]Runtime{},
	}
}

// Snapshot is an immutable, validated configuration plus what was derived
// from it. Never modify one; load a new one instead.
type Snapshot struct {
	Config
	// Digest is "sha256:<hex>" of the canonical JSON form of Config.
	Digest string
	// Files lists the files read, in order.
	Files []string
	// runtimes maps every runtime name to what it resolved to.
	runtimes map[string]Resolved
	// pos maps dotted keys to the "file:line" that set them last.
	pos map[string]string
}

// Resolved is a runtime as a snapshot resolved it.
type Resolved struct {
	Name   string
	Binary string   // absolute path of the runtime executable
	Args   []string // configured arguments
	// Path is what to execute: Binary, or the wrapper when Args is set.
	Path    string
	Wrapper *runtimes.Wrapper
}

// NameRE is the rule for container and runtime names.
var NameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// RuntimePath resolves a runtime name ("" means the default runtime) to the
// name and the path to execute (binary or wrapper). It returns
// errs.NoSuchRuntime, naming the runtime, if the snapshot does not know it.
func (s *Snapshot) RuntimePath(name string) (string, string, error) {
	r, err := s.Runtime(name)
	return r.Name, r.Path, err
}

// Runtime resolves a runtime name ("" means the default runtime).
func (s *Snapshot) Runtime(name string) (Resolved, error) {
	if name == "" {
		name = s.DefaultRuntime
	}
	r, ok := s.runtimes[name]
	if !ok {
		return Resolved{Name: name}, fmt.Errorf("runtime %q is not in the configuration (known: %s): %w",
			name, strings.Join(s.RuntimeNames(), ", "), errs.NoSuchRuntime)
	}
	return r, nil
}

// RuntimeNames lists the configured runtimes, sorted.
func (s *Snapshot) RuntimeNames() []string {
	names := make([]string, 0, len(s.runtimes))
	for n := range s.runtimes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Wrappers lists the wrapper scripts the snapshot's runtimes need, sorted
// by runtime name.
func (s *Snapshot) Wrappers() []runtimes.Wrapper {
	var ws []runtimes.Wrapper
	for _, n := range s.RuntimeNames() {
		if w := s.runtimes[n].Wrapper; w != nil {
			ws = append(ws, *w)
		}
	}
	return ws
}

// WrapperDir is where the snapshot's wrappers live.
func (s *Snapshot) WrapperDir() string { return filepath.Join(s.ExecRoot, runtimes.Dir) }

// Position returns "file:line" of the last setting of a dotted key (or of
// the nearest enclosing table), or "" if no file set it.
func (s *Snapshot) Position(key string) string {
	for k := key; k != ""; {
		if p, ok := s.pos[k]; ok {
			return p
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return ""
}

// Load reads file (which may be absent) and then the *.toml files of
// dropInDir in lexical order, and validates the result.
func Load(file, dropInDir string) (*Snapshot, error) {
	cfg := Defaults()
	pos := map[string]string{}
	var files []string
	paths := []string{file}
	if dropInDir != "" {
		more, err := filepath.Glob(filepath.Join(dropInDir, "*.toml"))
		if err != nil {
			return nil, err
		}
		sort.Strings(more)
		paths = append(paths, more...)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := decode(p, data, &cfg, pos); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return newSnapshot(cfg, files, pos)
}

// Parse is Load for one in-memory document; name is used in errors.
func Parse(name string, data []byte) (*Snapshot, error) {
	cfg := Defaults()
	pos := map[string]string{}
	if err := decode(name, data, &cfg, pos); err != nil {
		return nil, err
	}
	return newSnapshot(cfg, []string{name}, pos)
}

func decode(name string, data []byte, cfg *Config, pos map[string]string) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var serr *toml.StrictMissingError
		if errors.As(err, &serr) && len(serr.Errors) > 0 {
			e := serr.Errors[0]
			row, _ := e.Position()
			return fmt.Errorf("%s:%d: unknown key %q: %w", name, row, strings.Join(e.Key(), "."), errdefs.ErrInvalidArgument)
		}
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, _ := derr.Position()
			return fmt.Errorf("%s:%d: %s: %w", name, row, derr.Error(), errdefs.ErrInvalidArgument)
		}
		return fmt.Errorf("%s:1: %v: %w", name, err, errdefs.ErrInvalidArgument)
	}
	return scanKeys(name, data, pos)
}

// scanKeys records where each key and table header of a document (which
// has decoded without error) is, as "name:line", and refuses keys that the
// decoder matched only case-insensitively: key names are exact.
func scanKeys(name string, data []byte, pos map[string]string) error {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	var walk func(n *unstable.Node, prefix []string) error
	walk = func(n *unstable.Node, prefix []string) error {
		key := append([]string{}, prefix...)
		line := 0
		for it := n.Key(); it.Next(); {
			k := it.Node()
			if line == 0 {
				line = p.Shape(k.Raw).Start.Line
			}
			key = append(key, string(k.Data))
		}
		if n.Kind == unstable.Table || n.Kind == unstable.ArrayTable {
			table = key
		}
		if err := checkKey(key); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if len(key) > 0 && line > 0 {
			pos[strings.Join(key, ".")] = fmt.Sprintf("%s:%d", name, line)
		}
		if n.Kind == unstable.KeyValue && n.Value().Kind == unstable.InlineTable {
			for it := n.Value().Children(); it.Next(); {
				if err := walk(it.Node(), key); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			if err := walk(n, nil); err != nil {
				return err
			}
		case unstable.KeyValue:
			if err := walk(n, table); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	topKeys      = tomlKeys(reflect.TypeFor[Config]())
	runtimeKeys  = tomlKeys(reflect.TypeFor[Runtime]())
	registryKeys = tomlKeys(reflect.TypeFor[Registry]())
)

func tomlKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for f := range t.Fields() {
		keys[strings.Split(f.Tag.Get("toml"), ",")[0]] = true
	}
	return keys
}

func checkKey(key []string) error {
	bad := ""
	switch {
	case len(key) == 0:
	case !topKeys[key[0]]:
		bad = key[0]
	case key[0] == "runtimes" && len(key) >= 3 && !runtimeKeys[key[2]]:
		bad = strings.Join(key, ".")
	case key[0] == "registries" && len(key) >= 3 && !registryKeys[key[2]]:
		bad = strings.Join(key, ".")
	}
	if bad != "" {
		return fmt.Errorf("unknown key %q (key names are lower case and exact): %w", bad, errdefs.ErrInvalidArgument)
	}
	return nil
}

func newSnapshot(cfg Config, files []string, pos map[string]string) (*Snapshot, error) {
	s := &Snapshot{Config: cfg, Files: files, runtimes: map[string]Resolved{}, pos: pos}
	if len(files) == 0 {
		s.Files = nil
	}
	// invalid names the position of key, or says the value is the default.
	invalid := func(key, format string, a ...any) error {
		where := s.Position(key)
		if where == "" {
			where = "defaults"
			if len(files) > 0 {
				where = strings.Join(files, ", ") + " (default value)"
			}
		}
		return fmt.Errorf("%s: %s: %w", where, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	for _, key := range []string{"data-root", "exec-root"} {
		p := cfg.DataRoot
		if key == "exec-root" {
			p = cfg.ExecRoot
		}
		if !filepath.IsAbs(p) {
			return nil, invalid(key, "%s %q is not an absolute path", key, p)
		}
	}
	switch cfg.DefaultNetwork {
	case "bridge", "none", "host":
	default:
		return nil, invalid("default-network", "default-network %q: want bridge, none or host", cfg.DefaultNetwork)
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, invalid("log-level", "log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	if !strings.HasSuffix(cfg.CgroupParent, ".slice") || strings.Contains(cfg.CgroupParent, "/") || len(cfg.CgroupParent) <= len(".slice") {
		return nil, invalid("cgroup-parent", "cgroup-parent %q: want a slice unit name such as berth.slice", cfg.CgroupParent)
	}
	if _, ok := cfg.Runtimes["runc"]; !ok {
		// runc is always known, found on PATH, unless the files name it.
		if p, err := exec.LookPath("runc"); err == nil {
			if p, err = filepath.Abs(p); err == nil {
				s.runtimes["runc"] = Resolved{Name: "runc", Binary: p, Path: p}
			}
		}
	}
	for _, name := range sortedKeys(cfg.Runtimes) {
		rt := cfg.Runtimes[name]
		key := "runtimes." + name
		if !NameRE.MatchString(name) {
			return nil, invalid(key, "runtime name %q: must match %s", name, NameRE)
		}
		if rt.Path == "" {
			return nil, invalid(key, "runtimes.%s: path is not set", name)
		}
		p, err := exec.LookPath(rt.Path)
		if err != nil {
			return nil, invalid(key+".path", "runtimes.%s: path %q: not an executable", name, rt.Path)
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, invalid(key+".path", "runtimes.%s: %v", name, err)
		}
		r := Resolved{Name: name, Binary: p, Path: p}
		if len(rt.Args) > 0 {
			for i, a := range rt.Args {
				if strings.IndexByte(a, 0) >= 0 {
					return nil, invalid(key+".args", "runtimes.%s: args[%d] contains a NUL byte", name, i)
				}
			}
			r.Args = slices.Clone(rt.Args)
			w := runtimes.New(s.WrapperDir(), name, p, rt.Args)
			r.Wrapper, r.Path = &w, w.Path
		}
		s.runtimes[name] = r
	}
	for _, host := range sortedKeys(cfg.Registries) {
		key := "registries." + host
		if host == "" || strings.ContainsAny(host, "/ \t@") {
			return nil, invalid(key, "registries: %q is not a registry host[:port]", host)
		}
		for i, m := range cfg.Registries[host].Mirrors {
			if u, err := url.Parse(m); m == "" || strings.ContainsAny(m, " \t") || (err == nil && u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Host != "") {
				return nil, invalid(key+".mirrors", "registries.%q: mirrors[%d] %q is not a host[:port] or http(s) URL", host, i, m)
			}
		}
	}
	if _, ok := s.runtimes[cfg.DefaultRuntime]; !ok {
		return nil, invalid("default-runtime", "default-runtime %q: no such runtime (is it installed and on PATH?)", cfg.DefaultRuntime)
	}
	canon, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckReload returns an error if next changes a key that cannot change
// while berthd runs (data-root, exec-root), naming the key, its position
// and that a restart is needed.
func CheckReload(cur, next *Snapshot) error {
	for _, k := range []struct{ key, old, new string }{
		{"data-root", cur.DataRoot, next.DataRoot},
		{"exec-root", cur.ExecRoot, next.ExecRoot},
	} {
		if k.old == k.new {
			continue
		}
		where := next.Position(k.key)
		if where == "" {
			where = "defaults"
		}
		return fmt.Errorf("%s: %s changed from %q to %q: it cannot change by reload while containers may use it; restart berthd (with no containers left) to apply it: %w",
			where, k.key, k.old, k.new, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// Live holds the snapshot in force. Readers call Load once per request.
type Live struct{ p atomic.Pointer[Snapshot] }

// NewLive returns a Live holding s.
func NewLive(s *Snapshot) *Live {
	l := &Live{}
	l.p.Store(s)
	return l
}

// Load returns the snapshot in force.
func (l *Live) Load() *Snapshot { return l.p.Load() }

// Swap puts s in force and returns the previous snapshot.
func (l *Live) Swap(s *Snapshot) *Snapshot { return l.p.Swap(s) }
