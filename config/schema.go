package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Key documents one configuration key. The commented conffile (Conffile)
// and the man page berth.toml(5) are generated from Schema, so they list
// exactly the keys that the parser accepts, with the defaults it applies.
type Key struct {
	// Table is the table the key belongs to as written in a file's
	// header, with a placeholder for the name ("runtimes.NAME"), or ""
	// for a key at the top level.
	Table string
	// Name is the key as written in the file ("idle-timeout").
	Name string
	// Type is "string", "duration", "boolean", "array of strings" or
	// "table".
	Type string
	// Default is the default value in TOML syntax ("\"60s\""), or "" for
	// a table and for a key that has no default and must be set.
	Default string
	// Example is, for a key in a table, a value in TOML syntax for the
	// example table, and for a table the example table's NAME.
	Example string
	// Doc says what the key does, in plain text sentences.
	Doc string
}

// Path is the key's dotted name, with the table's placeholder:
// "idle-timeout", "runtimes.NAME.path".
func (k Key) Path() string {
	if k.Table == "" {
		return k.Name
	}
	return k.Table + "." + k.Name
}

// keyDocs lists every key in the order of the documentation. Schema adds
// the type and default from the Go types and Defaults; a test checks that
// this list and the toml tags of Config, Runtime and Registry agree.
var keyDocs = []Key{
	{Name: "data-root", Doc: "Directory of berth's persistent state: container records, the content store " +
		"and image layers, volumes and networks (mode 0700, for root only). It cannot change by reload: " +
		"berthd needs a restart, and refuses to start with another data-root than the one recorded in " +
		"/var/lib/berth/roots.json while containers exist under that one."},
	{Name: "exec-root", Doc: "Directory of berth's runtime state, which does not survive a reboot: " +
		"the runtimes' state, the monitors' sockets, runtime wrapper scripts (runtimes/) and network " +
		"attachments. It cannot change by reload, like data-root."},
	{Name: "default-runtime", Doc: "The OCI runtime of containers that name none (berthctl run --runtime): " +
		"runc, or the NAME of a [runtimes.NAME] table. runc is always known, found on PATH, unless a " +
		"[runtimes.runc] table says otherwise."},
	{Name: "cgroup-parent", Doc: "The slice unit in which each container's scope (berth-ID.scope) is created, " +
		"a slice unit name such as berth.slice. A change applies to containers started afterwards."},
	{Name: "idle-timeout", Doc: "How long berthd stays with no request, no call in flight and no open " +
		"stream before it exits; systemd starts it again on the next call, and containers keep running " +
		"meanwhile. A duration such as \"60s\" or \"5m\"; \"0\" means never."},
	{Name: "log-level", Doc: "The level of berthd's own log (journalctl -u berthd): debug, info, warn or error."},
	{Name: "default-network", Doc: "The network of containers that name none (berthctl run --network): " +
		"bridge, none or host."},
	{Name: "runtimes", Example: "runc-debug", Doc: "OCI runtimes, one table [runtimes.NAME] each; NAME, as a container name " +
		"([a-zA-Z0-9][a-zA-Z0-9_.-]*), is what berthctl run --runtime and default-runtime take. Each " +
		"start of a container resolves its runtime and every later runtime call of that run uses the " +
		"same executable, so changing or removing a runtime never breaks a running container."},
	{Table: "runtimes.NAME", Name: "path", Example: `"runc"`, Doc: "The runtime's executable: " +
		"an absolute path or a name looked up in PATH; a configuration whose runtime is not an " +
		"executable is refused."},
	{Table: "runtimes.NAME", Name: "args", Example: `["--debug"]`, Doc: "Arguments given to the runtime " +
		"before every command. Such a runtime is run through a wrapper script under exec-root " +
		"(runtimes/NAME-HASH), written once and never changed."},
	{Name: "registries", Example: `"registry.example.com:5000"`, Doc: "Settings of image registries, one table [registries.\"HOST[:PORT]\"] each, " +
		"the host as in image references (docker.io for Docker Hub). Credentials come from " +
		"/root/.docker/config.json, as docker login writes it."},
	{Table: `registries."HOST[:PORT]"`, Name: "insecure", Example: "true", Doc: "Use plain HTTP, or HTTPS " +
		"without verifying the certificate, for this registry and its mirrors. localhost and 127.0.0.1 " +
		"use plain HTTP anyway."},
	{Table: `registries."HOST[:PORT]"`, Name: "mirrors", Example: `["https://mirror.example.com"]`,
		Doc: "Mirrors tried in order before the registry itself for pulls: host[:port] or http(s) URLs."},
}

// Schema lists every configuration key with its type, its default (that
// of Defaults) and its documentation, in the order of the documentation:
// the top-level keys, each table's keys after the table.
func Schema() []Key {
	def := reflect.ValueOf(Defaults())
	keys := slices.Clone(keyDocs)
	for i := range keys {
		k := &keys[i]
		var v reflect.Value
		switch {
		case k.Table == "":
			v = fieldByKey(def, k.Name)
		case strings.HasPrefix(k.Table, "runtimes."):
			v = fieldByKey(reflect.ValueOf(Runtime{}), k.Name)
		case strings.HasPrefix(k.Table, "registries."):
			v = fieldByKey(reflect.ValueOf(Registry{}), k.Name)
		}
		if !v.IsValid() {
			panic(fmt.Sprintf("config: schema key %q has no field", k.Path()))
		}
		k.Type, k.Default = describe(v)
	}
	return keys
}

// fieldByKey is the field of struct v whose toml key is key.
func fieldByKey(v reflect.Value, key string) reflect.Value {
	for i := range v.NumField() {
		if strings.Split(v.Type().Field(i).Tag.Get("toml"), ",")[0] == key {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// describe returns the schema type of v and v in TOML syntax ("" for a
// table or an empty string: no default).
func describe(v reflect.Value) (string, string) {
	switch x := v.Interface().(type) {
	case Duration:
		return "duration", tomlString(formatDuration(time.Duration(x)))
	case string:
		if x == "" {
			return "string", ""
		}
		return "string", tomlString(x)
	case bool:
		return "boolean", strconv.FormatBool(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = tomlString(s)
		}
		return "array of strings", "[" + strings.Join(q, ", ") + "]"
	}
	if v.Kind() == reflect.Map {
		return "table", ""
	}
	panic(fmt.Sprintf("config: no schema type for %s", v.Type()))
}

// formatDuration writes d as a person would: "60s" rather than "1m0s".
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Conffile returns the text of the conffile DefaultFile as installed: a
// header, then every key commented out ("#key = default") below its
// documentation, and the tables as commented examples. Uncommenting the
// "#key = " lines gives the defaults.
func Conffile() []byte {
	var b strings.Builder
	b.WriteString(`# ` + DefaultFile + `: configuration of berthd, the berth container engine.
#
# berthd reads this file, then the drop-ins ` + DefaultDropInDir + `/*.toml in
# lexical order: a later file wins per key, and tables merge by key. Prefer a
# drop-in to editing this file. A key that no file sets has its default, so
# every key below is commented out and shows its default value.
#
# After a change, "berthctl reload" (or "systemctl reload berthd") puts the
# files in force, or fails naming the file, line and reason and changes
# nothing. Key names are exact; an unknown key is an error. See berth.toml(5).
`)
	keys := Schema()
	for _, k := range keys {
		if k.Table != "" {
			continue
		}
		b.WriteString("\n")
		comment(&b, k.Doc, "# ", "# ")
		if k.Type != "table" {
			fmt.Fprintf(&b, "#%s = %s\n", k.Name, k.Default)
			continue
		}
		var example []string
		b.WriteString("#\n# Keys of each table:\n")
		for _, sub := range keys {
			if !strings.HasPrefix(sub.Table, k.Name+".") {
				continue
			}
			dflt := "required"
			if sub.Default != "" {
				dflt = "default " + sub.Default
			}
			comment(&b, fmt.Sprintf("%s (%s, %s): %s", sub.Name, sub.Type, dflt, sub.Doc), "#   ", "#     ")
			example = append(example, fmt.Sprintf("#   %s = %s\n", sub.Name, sub.Example))
		}
		fmt.Fprintf(&b, "#\n# For example:\n#\n#   [%s.%s]\n", k.Name, k.Example)
		for _, line := range example {
			b.WriteString(line)
		}
	}
	return []byte(b.String())
}

// comment writes text wrapped at 78 columns, the first line starting
// with first and the others with rest.
func comment(b *strings.Builder, text, first, rest string) {
	line, indent := first, first
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > 78 {
			b.WriteString(line + "\n")
			line, indent = rest, rest
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}
