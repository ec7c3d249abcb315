package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/pelletier/go-toml/v2"
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
		DefaultNetwork: "none",
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
	// runtimes maps every runtime name to its resolved absolute path.
	runtimes map[string]string
}

// NameRE is the rule for container and runtime names.
var NameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// RuntimePath resolves a runtime name ("" means the default runtime).
// It returns errdefs.ErrNotFound, naming the runtime, if the snapshot does
// not know it.
func (s *Snapshot) RuntimePath(name string) (string, string, error) {
	if name == "" {
		name = s.DefaultRuntime
	}
	p, ok := s.runtimes[name]
	if !ok {
		return "", "", fmt.Errorf("runtime %q is not in the configuration (known: %s): %w",
			name, strings.Join(s.RuntimeNames(), ", "), errdefs.ErrNotFound)
	}
	return name, p, nil
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

// Load reads file (which may be absent) and then the *.toml files of
// dropInDir in lexical order, and validates the result.
func Load(file, dropInDir string) (*Snapshot, error) {
	cfg := Defaults()
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
		if err := decode(p, data, &cfg); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return newSnapshot(cfg, files)
}

// Parse is Load for one in-memory document; name is used in errors.
func Parse(name string, data []byte) (*Snapshot, error) {
	cfg := Defaults()
	if err := decode(name, data, &cfg); err != nil {
		return nil, err
	}
	return newSnapshot(cfg, []string{name})
}

func decode(name string, data []byte, cfg *Config) error {
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
		return fmt.Errorf("%s: %v: %w", name, err, errdefs.ErrInvalidArgument)
	}
	return nil
}

func newSnapshot(cfg Config, files []string) (*Snapshot, error) {
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s: %w", strings.Join(files, ", "), fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
	}
	if len(files) == 0 {
		files = nil
	}
	for key, p := range map[string]string{"data-root": cfg.DataRoot, "exec-root": cfg.ExecRoot} {
		if !filepath.IsAbs(p) {
			return nil, invalid("%s %q is not an absolute path", key, p)
		}
	}
	switch cfg.DefaultNetwork {
	case "none", "host":
	default:
		return nil, invalid("default-network %q: want none or host", cfg.DefaultNetwork)
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, invalid("log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	if !strings.HasSuffix(cfg.CgroupParent, ".slice") || strings.Contains(cfg.CgroupParent, "/") {
		return nil, invalid("cgroup-parent %q: want a slice unit name such as berth.slice", cfg.CgroupParent)
	}
	s := &Snapshot{Config: cfg, Files: files, runtimes: map[string]string{}}
	if _, ok := cfg.Runtimes["runc"]; !ok {
		// runc is always known, found on PATH, unless the files name it.
		if p, err := exec.LookPath("runc"); err == nil {
			s.runtimes["runc"] = p
		}
	}
	for name, rt := range cfg.Runtimes {
		if !NameRE.MatchString(name) {
			return nil, invalid("runtime name %q: must match %s", name, NameRE)
		}
		if rt.Path == "" {
			return nil, invalid("runtimes.%s: path is not set", name)
		}
		p, err := exec.LookPath(rt.Path)
		if err != nil {
			return nil, invalid("runtimes.%s: path %q: not an executable", name, rt.Path)
		}
		if !filepath.IsAbs(p) {
			if p, err = filepath.Abs(p); err != nil {
				return nil, invalid("runtimes.%s: %v", name, err)
			}
		}
		if len(rt.Args) > 0 {
			return nil, invalid("runtimes.%s: args are not supported yet", name)
		}
		s.runtimes[name] = p
	}
	if _, ok := s.runtimes[cfg.DefaultRuntime]; !ok {
		return nil, invalid("default-runtime %q: no such runtime (is it installed and on PATH?)", cfg.DefaultRuntime)
	}
	canon, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return s, nil
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
