package main

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/berthd/berth/limits"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// environment builds a container's or exec's environment as docker does:
// the --env-file entries first, then the -e entries, so -e wins. An entry
// NAME without '=' takes its value from lookup (berthctl's own
// environment) and is dropped when NAME is unset there. An entry with an
// empty name ("=foo") is refused, naming it, before anything is created.
func environment(env, envFiles []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, path := range envFiles {
		entries, err := readEnvFile(path, lookup)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	for _, e := range env {
		v, ok, err := envEntry(e, lookup)
		if err != nil {
			return nil, fmt.Errorf("-e %q: %w", e, err)
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// envEntry reads one NAME=value or NAME entry; ok is false for a NAME that
// lookup does not know.
func envEntry(e string, lookup func(string) (string, bool)) (string, bool, error) {
	name, _, hasValue := strings.Cut(e, "=")
	if name == "" {
		return "", false, fmt.Errorf("invalid environment variable: no name")
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "", false, fmt.Errorf("invalid environment variable: the name %q contains white space", name)
	}
	if hasValue {
		return e, true, nil
	}
	v, ok := lookup(name)
	if !ok {
		return "", false, nil
	}
	return name + "=" + v, true, nil
}

// readOptionFile reads a file an option names, refusing one larger than
// limits.MaxOptionFile (/dev/zero would otherwise fill the memory).
func readOptionFile(flag, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limits.MaxOptionFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if len(b) > limits.MaxOptionFile {
		return nil, fmt.Errorf("%s %s: larger than %d bytes", flag, path, limits.MaxOptionFile)
	}
	return b, nil
}

// lineScanner scans the lines of b, however long (b is bounded).
func lineScanner(b []byte) *bufio.Scanner {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	return sc
}

// readEnvFile reads a file in docker's --env-file format: one NAME=value
// or NAME a line, leading white space ignored, lines starting with # and
// blank lines skipped, values taken verbatim (no quotes, no expansion).
func readEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	b, err := readOptionFile("--env-file", path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	var out []string
	sc := lineScanner(b)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("--env-file %s:%d: not UTF-8", path, n)
		}
		v, ok, err := envEntry(line, lookup)
		if err != nil {
			return nil, fmt.Errorf("--env-file %s:%d: %w", path, n, err)
		}
		if ok {
			out = append(out, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	return out, nil
}
