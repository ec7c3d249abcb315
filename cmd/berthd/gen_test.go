package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthd/berth/internal/mantest"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/version"
)

// TestGenerate builds berthd with -tags man, as make gen does, runs its
// generator into a temporary directory and checks berthd.8 (every flag),
// berth.toml.5 (every key with its default) and the conffile.
func TestGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds berthd")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "berthd")
	mantest.GoBuild(t, "-tags", "man", "-o", bin, ".")
	out := filepath.Join(dir, "gen")
	cmd := exec.Command(bin, "generate", out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=86400")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("berthd generate: %v\n%s", err, b)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	th := func(title, sec string) string {
		return `.TH "` + title + `" "` + sec + `" "Jan 1970" "berth ` + version.String() + `" "berth"` + "\n"
	}

	t.Run("berthd.8", func(t *testing.T) {
		page := read("man/man8/berthd.8")
		if !strings.HasPrefix(page, th("BERTHD", "8")) {
			t.Errorf("header: %.100s", page)
		}
		fs := flag.NewFlagSet("berthd", flag.ContinueOnError)
		registerFlags(fs)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			if !strings.Contains(page, `\fB`+manEsc("--"+f.Name)+`\fR`) {
				t.Errorf("flag --%s is not on the page", f.Name)
			}
			if f.DefValue != "" && f.DefValue != "false" && !strings.Contains(page, manEsc(f.DefValue)) {
				t.Errorf("the default of --%s, %s, is not on the page", f.Name, f.DefValue)
			}
		})
		if n < 5 {
			t.Fatalf("only %d flags", n)
		}
		for _, s := range []string{"berthd.socket", "berthd.service", "berth-restore.service", "berth.slice",
			config.DefaultFile, config.DefaultDropInDir, "/var/lib/berth", "/run/berth", "idle-timeout",
			"io.berth.Engine1"} {
			if !strings.Contains(page, manEsc(s)) {
				t.Errorf("berthd.8 does not mention %s", s)
			}
		}
		if !regexp.MustCompile(`\n\.SH "SEE ALSO"\n.*\\fBberthctl\\fR\(1\), \\fBberth\.toml\\fR\(5\), \\fBsystemd\.socket\\fR\(5\)`).MatchString(page) {
			t.Errorf("no SEE ALSO section with berthctl(1), berth.toml(5), systemd.socket(5)")
		}
		mantest.CheckPage(t, filepath.Join(out, "man/man8/berthd.8"))
	})
	t.Run("berth.toml.5", func(t *testing.T) {
		page := read("man/man5/berth.toml.5")
		if !strings.HasPrefix(page, th("BERTH.TOML", "5")) {
			t.Errorf("header: %.100s", page)
		}
		for _, k := range config.Schema() {
			if k.Type != "table" && !strings.Contains(page, `\fB`+manEsc(k.Name)+`\fR = \fI`+manEsc(k.Type)+`\fR`) {
				t.Errorf("key %s is not on the page", k.Path())
			}
			if !strings.Contains(page, manEsc(k.Doc)) {
				t.Errorf("the documentation of %s is not on the page", k.Path())
			}
			if k.Default != "" && !strings.Contains(page, "Default: "+manEsc(k.Default)+".") {
				t.Errorf("the default of %s, %s, is not on the page", k.Path(), k.Default)
			}
			if k.Type == "table" && !strings.Contains(page, manEsc("["+k.Name+"."+k.Example+"]")) {
				t.Errorf("no example table for %s", k.Name)
			}
		}
		mantest.CheckPage(t, filepath.Join(out, "man/man5/berth.toml.5"))
	})
	t.Run("berth.toml", func(t *testing.T) {
		if read("berth.toml") != string(config.Conffile()) {
			t.Error("the generated conffile differs from config.Conffile()")
		}
	})
}

// manEsc is how the generator writes plain text that has no characters
// outside ASCII.
func manEsc(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}
