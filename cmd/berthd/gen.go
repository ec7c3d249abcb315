//go:build !man

package main

// generate does nothing in a normal build: the generator of berthd.8,
// berth.toml(5) and the conffile is built with -tags man (make gen), so
// berthd does not carry it.
func generate([]string) bool { return false }
