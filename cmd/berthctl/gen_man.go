//go:build man

package main

import (
	"fmt"
	"os"

	"github.com/berthd/berth/version"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// addGenerators adds the hidden verb "generate-man DIR", which writes a
// man page per verb from the same definitions as --help (make man).
func addGenerators(root *cobra.Command) {
	root.AddCommand(&cobra.Command{
		Use:    "generate-man DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root.DisableAutoGenTag = true
			hdr := &doc.GenManHeader{Title: "BERTHCTL", Section: "1", Source: "berth " + version.String(), Manual: "berth"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return err
			}
			fmt.Println(args[0])
			return nil
		},
	})
}
