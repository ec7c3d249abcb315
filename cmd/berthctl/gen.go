//go:build !man

package main

import "github.com/spf13/cobra"

// addGenerators adds nothing to a normal build: the man page generator
// is built with -tags man (make man), so berthctl does not carry it.
func addGenerators(*cobra.Command) {}
