// Package mantest helps the tests of the man page generators (berthd's
// and berthctl's generate verbs, built with -tags man): building a binary
// with the go tool and checking a generated page as mandb and man would
// read it.
package mantest

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// GoBuild runs `go build ARGS...` in the test's package directory and
// fails the test with go's output if it fails.
func GoBuild(t *testing.T, args ...string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if b, err := exec.Command(goTool, append([]string{"build"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// CheckPage runs groff on the page at path with every warning on (any
// output is an error), and lexgrog (what mandb indexes: the page needs a
// whatis line), each when it is installed.
func CheckPage(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("groff"); err != nil {
		t.Log("groff is not installed; the page is not checked")
		return
	}
	if b, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", path).CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("groff -ww %s: %v\n%s", path, err, b)
	}
	if _, err := exec.LookPath("lexgrog"); err != nil {
		return
	}
	b, err := exec.Command("lexgrog", path).CombinedOutput()
	if err != nil || !regexp.MustCompile(`: ".+ - .+"`).Match(b) {
		t.Errorf("lexgrog finds no whatis line in %s: %v\n%s", path, err, b)
	}
}
