//go:build !man

package main

import "github.com/spf13/cobra"

// addGenerators adds nothing to a normal build: the generator of the man
// pages and completion scripts is built with -tags man (make gen), so
// berthctl does not carry it.
func addGenerators(*cobra.Command) {}
