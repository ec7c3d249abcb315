package version

import (
	"regexp"
	"testing"
)

// The version must be a valid Debian upstream version, since the package
// takes it as is: a digit first, then alphanumerics and . + ~ -.
func TestVersionIsDebianUpstream(t *testing.T) {
	if v := String(); !regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`).MatchString(v) {
		t.Fatalf("version %q is not a Debian upstream version", v)
	}
	Override = "9.9.9"
	defer func() { Override = "" }()
	if String() != "9.9.9" {
		t.Fatalf("override not taken: %q", String())
	}
}
