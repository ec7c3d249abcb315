package lifecycle

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berthd/berth/limits"
	"github.com/containerd/errdefs"
)

// Bounds on what a client may hand berth. Where docker or the kernel has a
// limit it is that limit; elsewhere a generous one that keeps records,
// unit descriptions and journal entries a sane size.
const (
	// MaxNameLen bounds container names (docker has none; a name ends up
	// in the scope's description and in every journal entry).
	MaxNameLen = 128
	// MaxHostnameLen is the kernel's HOST_NAME_MAX.
	MaxHostnameLen = 64
	// MaxArgLen is the kernel's MAX_ARG_STRLEN less its NUL: the longest
	// single argument or environment entry execve takes.
	MaxArgLen = 32*4096 - 1
	// MaxArgsTotal bounds command and environment together, below the
	// kernel's usual ARG_MAX (a quarter of an 8 MiB stack).
	MaxArgsTotal = 1 << 20
	// MaxPathLen is PATH_MAX (root file system, working directory).
	MaxPathLen = 4096
	// MaxUserLen bounds "user[:group]" (names are at most 32 bytes in
	// shadow-utils; numeric ids fewer).
	MaxUserLen = 256
	// MaxLabelKeyLen bounds a label's key (docker has no limit; keys are
	// reverse-DNS names in practice).
	MaxLabelKeyLen = 1024
	// MaxLabelsTotal bounds keys and values of all labels together: they
	// are in every record, inspect and ps answer.
	MaxLabelsTotal = 256 << 10
	// MaxStopTimeout bounds stop timeouts (seconds).
	MaxStopTimeout = limits.MaxStopTimeout
	// MinMemory is docker's minimum memory limit (6 MiB).
	MinMemory = limits.MinMemory
	// MinNanoCPUs is docker's smallest --cpus (0.01).
	MinNanoCPUs = limits.MinNanoCPUs
)

// hostnameRE is one RFC 1123 host name: labels of letters, digits and
// inner hyphens, separated by dots.
var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
}

// quote shows a value in an error, cut to a readable length.
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// CheckName refuses a container name that is too long (the pattern is
// config.NameRE, checked by Create).
func CheckName(name string) error {
	if len(name) > MaxNameLen {
		return invalid("container name %s: longer than %d bytes", quote(name), MaxNameLen)
	}
	return nil
}

// checkLabels bounds labels: each key non-empty and at most
// MaxLabelKeyLen bytes, keys and values together at most MaxLabelsTotal.
func checkLabels(labels map[string]string) error {
	n := 0
	for k, v := range labels {
		switch {
		case k == "":
			return invalid("label with value %s: the key is empty", quote(v))
		case len(k) > MaxLabelKeyLen:
			return invalid("label key %s: longer than %d bytes", quote(k), MaxLabelKeyLen)
		}
		n += len(k) + len(v)
	}
	if n > MaxLabelsTotal {
		return invalid("labels: %d bytes together, more than %d", n, MaxLabelsTotal)
	}
	return nil
}

// checkEnv refuses entries that are not NAME=VALUE with a non-empty name,
// as docker does, and entries execve would refuse.
// (NAME=VALUE sets NAME; NAME alone unsets it, docker's rule for the
// API's Env.)
func checkEnv(field string, env []string) error {
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		switch {
		case name == "":
			return invalid("%s entry %s: the variable name is empty", field, quote(e))
		case len(e) > MaxArgLen:
			return invalid("%s entry %s: longer than %d bytes", field, quote(e), MaxArgLen)
		}
	}
	return nil
}

// checkArgs refuses a command whose program is empty and arguments execve
// would refuse; field names the command ("cmd", "entrypoint").
func checkArgs(field string, args []string) error {
	if len(args) > 0 && args[0] == "" {
		return invalid("%s: the program name is empty", field)
	}
	for _, a := range args {
		if len(a) > MaxArgLen {
			return invalid("%s argument %s: longer than %d bytes", field, quote(a), MaxArgLen)
		}
	}
	return nil
}

func argsSize(lists ...[]string) int {
	n := 0
	for _, l := range lists {
		for _, s := range l {
			n += len(s) + 1
		}
	}
	return n
}

func checkWorkdir(field, dir string) error {
	switch {
	case dir == "":
		return nil
	case len(dir) > MaxPathLen:
		return invalid("%s %s: longer than %d bytes", field, quote(dir), MaxPathLen)
	case !filepath.IsAbs(dir):
		return invalid("%s %s: not an absolute path", field, quote(dir))
	}
	return nil
}

func checkUser(field, u string) error {
	if len(u) > MaxUserLen {
		return invalid("%s %s: longer than %d bytes", field, quote(u), MaxUserLen)
	}
	return nil
}

// CheckStopTimeout refuses a stop timeout (seconds) that is negative or
// too large to become a duration.
func CheckStopTimeout(field string, t int64) error {
	if err := limits.StopTimeout(t); err != nil {
		return invalid("%s %d: %v", field, t, err)
	}
	return nil
}

// checkRootfsDir refuses a root file-system directory the runtime cannot
// pivot into or that would expose berth's own state: the host's root, or
// a directory that holds one of own (berth's data-root and exec-root).
// Paths are compared after symbolic links are resolved; a rootfs that
// does not exist is left to the later existence check.
func checkRootfsDir(rootfs string, own ...string) error {
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	r := resolve(rootfs)
	if r == "/" {
		return invalid("rootfs %s: the host's root file system cannot be a container's root", quote(rootfs))
	}
	for _, o := range own {
		if o == "" {
			continue
		}
		if rel, err := filepath.Rel(r, resolve(o)); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return invalid("rootfs %s: holds berth's own state directory %s", quote(rootfs), o)
		}
	}
	return nil
}

// CPUsToNano converts docker's --cpus (a number of CPUs) to nano-CPUs,
// refusing what is not a finite number from 0.01 to max.
func CPUsToNano(cpus float64, max int) (uint64, error) {
	n, err := limits.CPUsToNano(cpus, max)
	if err != nil {
		return 0, invalid("cpus %v: %v", cpus, err)
	}
	return n, nil
}

// checkSpec checks what the user gave, before anything is resolved: the
// checks need no file system, image or configuration.
func checkSpec(s *Spec) error {
	if len(s.Rootfs) > MaxPathLen {
		return invalid("rootfs %s: longer than %d bytes", quote(s.Rootfs), MaxPathLen)
	}
	if len(s.Image) > MaxPathLen {
		return invalid("image %s: longer than %d bytes", quote(s.Image), MaxPathLen)
	}
	if err := checkEnv("env", s.Env); err != nil {
		return err
	}
	ep := s.Entrypoint
	if len(ep) == 1 && ep[0] == "" {
		ep = nil // docker's --entrypoint '': none, not the image's
	}
	if err := checkArgs("entrypoint", ep); err != nil {
		return err
	}
	if len(ep) == 0 {
		if err := checkArgs("cmd", s.Cmd); err != nil {
			return err
		}
	} else if err := checkArgs("cmd", append([]string{"-"}, s.Cmd...)); err != nil {
		return err // the command's arguments follow the entrypoint
	}
	if n := argsSize(s.Entrypoint, s.Cmd, s.Env); n > MaxArgsTotal {
		return invalid("cmd and env: %d bytes together, more than %d", n, MaxArgsTotal)
	}
	if err := checkLabels(s.Labels); err != nil {
		return err
	}
	if err := checkWorkdir("workdir", s.Workdir); err != nil {
		return err
	}
	if err := checkUser("user", s.User); err != nil {
		return err
	}
	if s.Hostname != "" {
		if len(s.Hostname) > MaxHostnameLen {
			return invalid("hostname %s: longer than %d bytes", quote(s.Hostname), MaxHostnameLen)
		}
		if !hostnameRE.MatchString(s.Hostname) {
			return invalid("hostname %s: not a valid host name (RFC 1123: letters, digits, inner hyphens, dot-separated labels)", quote(s.Hostname))
		}
	}
	if s.StopSignal != "" {
		if _, err := ParseSignal(s.StopSignal); err != nil {
			return fmt.Errorf("stop signal: %w", err)
		}
	}
	if s.StopTimeout != nil {
		if err := CheckStopTimeout("stop timeout", int64(*s.StopTimeout)); err != nil {
			return err
		}
	}
	if err := checkResources(*s); err != nil {
		return err
	}
	return checkOptions(s)
}

// validate checks an exec's options as Create checks a container's.
func (o *ExecOptions) validate() error {
	if len(o.Cmd) == 0 {
		return invalid("exec: no command given")
	}
	if err := checkArgs("cmd", o.Cmd); err != nil {
		return err
	}
	if err := checkEnv("env", o.Env); err != nil {
		return err
	}
	if n := argsSize(o.Cmd, o.Env); n > MaxArgsTotal {
		return invalid("cmd and env: %d bytes together, more than %d", n, MaxArgsTotal)
	}
	if err := checkWorkdir("workdir", o.Workdir); err != nil {
		return err
	}
	return checkUser("user", o.User)
}
