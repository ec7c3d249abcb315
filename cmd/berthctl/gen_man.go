//go:build man

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berthd/berth/version"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// addGenerators adds the hidden verb "generate DIR" (make gen), which
// writes from the same definitions as --help and completion:
// DIR/man/man1/berthctl.1 and a page per verb (berthctl-run.1, ...), and
// DIR/completion/berthctl.bash, _berthctl (zsh) and berthctl.fish.
func addGenerators(root *cobra.Command) {
	root.AddCommand(&cobra.Command{
		Use:    "generate DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return generate(root, args[0])
		},
	})
}

func generate(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	root.InitDefaultVersionFlag() // cobra adds it only to the command it runs
	files := map[string][]byte{}
	var pages func(c *cobra.Command) error
	pages = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			return nil
		}
		// cobra titles each page after its command (BERTHCTL\-RUN) and
		// dates it from SOURCE_DATE_EPOCH when that is set.
		hdr := &doc.GenManHeader{Section: "1", Source: "berth " + version.String(), Manual: "berth"}
		var b bytes.Buffer
		if err := doc.GenMan(c, hdr, &b); err != nil {
			return fmt.Errorf("%s: %w", c.CommandPath(), err)
		}
		files[filepath.Join("man", "man1", strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")] = fixRoff(b.Bytes())
		for _, sub := range c.Commands() {
			if err := pages(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := pages(root); err != nil {
		return err
	}
	for name, gen := range map[string]func(*bytes.Buffer) error{
		"berthctl.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"_berthctl":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"berthctl.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return fmt.Errorf("completion %s: %w", name, err)
		}
		files[filepath.Join("completion", name)] = b.Bytes()
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d files\n", dir, len(files))
	return nil
}

// longWord is a run of text too long for a line of a man page.
var longWord = regexp.MustCompile(`[^ \t]{50,}`)

// fixRoff makes cobra's pages clean for groff -ww: a character outside
// ASCII becomes a groff glyph escape (groff reads its input as Latin-1
// unless preconv runs), and a long word gets break points after its
// commas (--mount's syntax would overrun the line) in left-adjusted text
// (a line of one word cannot be justified).
func fixRoff(page []byte) []byte {
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(page), "\n") {
		if !strings.HasPrefix(line, ".") {
			line = longWord.ReplaceAllStringFunc(line, func(w string) string {
				return strings.ReplaceAll(w, ",", `,\:`)
			})
		}
		if strings.HasPrefix(line, ".TH ") {
			line += ".ad l\n"
		}
		for _, c := range line {
			if c > 0x7e {
				fmt.Fprintf(&b, `\[u%04X]`, c)
				continue
			}
			b.WriteRune(c)
		}
	}
	return []byte(b.String())
}
