// Package version holds berth's version: the one in the file VERSION next
// to this source (also read by make deb for the package's version), unless
// a build sets Override with -ldflags "-X github.com/berthd/berth/version.Override=V".
package version

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var file string

// Override replaces the VERSION file's version when set at link time
// (a rebuilt package with a higher version, say).
var Override string

// String is the version berthd --version, berthctl --version and the
// D-Bus Version property report, e.g. "0.1.0".
func String() string {
	if Override != "" {
		return Override
	}
	return strings.TrimSpace(file)
}
