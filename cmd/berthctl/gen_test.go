package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthd/berth/internal/mantest"

	"github.com/berthd/berth/version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestGenerate builds berthctl with -tags man, as make gen does, runs its
// generate verb into a temporary directory and checks that every verb has
// a clean man page naming its flags, and that the completion scripts are
// there.
func TestGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds berthctl")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "berthctl")
	mantest.GoBuild(t, "-tags", "man", "-o", bin, ".")
	out := filepath.Join(dir, "gen")
	cmd := exec.Command(bin, "generate", out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("berthctl generate: %v\n%s", err, b)
	}

	want := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() {
			return
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		want[name+".1"] = true
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(out, "man", "man1", name+".1"))
			if err != nil {
				t.Fatalf("no page for %q: %v", c.CommandPath(), err)
			}
			page := string(b)
			th := `.TH "` + strings.ToUpper(name) + `" "1" "Jan 1970" "berth ` + version.String() + `" "berth"`
			if !strings.Contains(page, th+"\n") {
				t.Errorf("want the header %s in:\n%.300s", th, page)
			}
			if !strings.Contains(page, ".SH NAME\n"+name+" - ") {
				t.Errorf("no NAME section naming %s", name)
			}
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && !strings.Contains(page, `\fB--`+f.Name+`\fP`) {
					t.Errorf("flag --%s is not on the page", f.Name)
				}
			})
			mantest.CheckPage(t, filepath.Join(out, "man", "man1", name+".1"))
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot(&client{})
	walk(root)
	if len(want) < 40 {
		t.Fatalf("only %d commands found", len(want))
	}
	for _, v := range []string{"berthctl-run.1", "berthctl-network-create.1", "berthctl-image-inspect.1"} {
		if !want[v] {
			t.Errorf("%s is not among the pages expected from the commands", v)
		}
	}
	entries, err := os.ReadDir(filepath.Join(out, "man", "man1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("page %s for no available command (hidden verbs get none)", e.Name())
		}
	}

	for name, mark := range map[string]string{
		"berthctl.bash": "__start_berthctl",
		"_berthctl":     "#compdef berthctl",
		"berthctl.fish": "complete -c berthctl",
	} {
		b, err := os.ReadFile(filepath.Join(out, "completion", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), mark) {
			t.Errorf("completion %s lacks %q", name, mark)
		}
	}
}
