package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSchemaCoversEveryKey: every toml key of Config, Runtime and Registry
// has exactly one documented schema entry, and every entry names a key.
func TestSchemaCoversEveryKey(t *testing.T) {
	want := map[string]bool{}
	for _, s := range []struct {
		table string
		typ   reflect.Type
	}{
		{"", reflect.TypeFor[Config]()},
		{"runtimes.NAME", reflect.TypeFor[Runtime]()},
		{`registries."HOST[:PORT]"`, reflect.TypeFor[Registry]()},
	} {
		for f := range s.typ.Fields() {
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				t.Fatalf("field %s.%s has no toml key", s.typ.Name(), f.Name)
			}
			want[Key{Table: s.table, Name: key}.Path()] = true
		}
	}
	seen := map[string]bool{}
	for _, k := range Schema() {
		p := k.Path()
		if seen[p] {
			t.Errorf("key %s is documented twice", p)
		}
		seen[p] = true
		if !want[p] {
			t.Errorf("schema documents %s, which is no key of the configuration", p)
		}
		if len(strings.Fields(k.Doc)) < 5 {
			t.Errorf("key %s: documentation %q is too short to say anything", p, k.Doc)
		}
		if (k.Table != "" || k.Type == "table") && k.Example == "" {
			t.Errorf("key %s: no example for the example table", p)
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("key %s is not in the schema (add it to keyDocs in schema.go)", p)
		}
	}
}

// TestSchemaDefaults: each documented default, written in a file, yields
// exactly Defaults(); a key documented without default is required.
func TestSchemaDefaults(t *testing.T) {
	for _, k := range Schema() {
		t.Run(k.Path(), func(t *testing.T) {
			if k.Type == "table" {
				if k.Default != "" {
					t.Fatalf("table with default %q", k.Default)
				}
				return
			}
			switch {
			case k.Table == "":
				if k.Default == "" {
					t.Fatal("a top-level key has no default")
				}
				s, err := Parse("x.toml", []byte(k.Name+" = "+k.Default+"\n"))
				if err != nil {
					t.Fatal(err)
				}
				if s.Position(k.Name) != "x.toml:1" {
					t.Fatalf("the key was not read (position %q)", s.Position(k.Name))
				}
				if !reflect.DeepEqual(s.Config, Defaults()) {
					t.Fatalf("%s = %s gives %+v, want the defaults %+v", k.Name, k.Default, s.Config, Defaults())
				}
			default:
				// The example table with this key at its documented
				// default instead: the key reads as the zero value.
				others := exampleTableKeys(k.Table, k.Name)
				doc := "[" + exampleHeader(k.Table) + "]\n" + others
				if k.Default == "" {
					if _, err := Parse("x.toml", []byte(doc)); err == nil {
						t.Fatalf("key %s has no default, but a table without it is accepted:\n%s", k.Path(), doc)
					}
					return
				}
				s, err := Parse("x.toml", []byte(doc+k.Name+" = "+k.Default+"\n"))
				if err != nil {
					t.Fatal(err)
				}
				got := tableField(t, s, k)
				if !zeroish(got) {
					t.Fatalf("%s = %s reads as %v, want the zero value", k.Path(), k.Default, got.Interface())
				}
			}
		})
	}
}

// exampleHeader is the header of the example table of table.
func exampleHeader(table string) string {
	name := strings.Split(table, ".")[0]
	for _, k := range Schema() {
		if k.Table == "" && k.Name == name {
			return name + "." + k.Example
		}
	}
	return ""
}

// exampleTableKeys are the example lines of table's keys other than skip.
func exampleTableKeys(table, skip string) string {
	var b strings.Builder
	for _, k := range Schema() {
		if k.Table == table && k.Name != skip {
			b.WriteString(k.Name + " = " + k.Example + "\n")
		}
	}
	return b.String()
}

// tableField is the value of k in the only table of s's runtimes or
// registries.
func tableField(t *testing.T, s *Snapshot, k Key) reflect.Value {
	t.Helper()
	m := reflect.ValueOf(s.Config).FieldByName(map[string]string{"runtimes": "Runtimes", "registries": "Registries"}[strings.Split(k.Table, ".")[0]])
	if m.Len() != 1 {
		t.Fatalf("%d tables in %v, want 1", m.Len(), m.Interface())
	}
	return fieldByKey(m.MapIndex(m.MapKeys()[0]), k.Name)
}

func zeroish(v reflect.Value) bool {
	if v.Kind() == reflect.Slice {
		return v.Len() == 0
	}
	return v.IsZero()
}

// keyLine is a commented-out key at its default in the conffile.
var keyLine = regexp.MustCompile(`^#([a-z][a-z-]*) = `)

// TestConffileUncommentedGivesDefaults: uncommenting every key line of the
// conffile gives a file that Load accepts, that sets every top-level key
// and that yields exactly the defaults.
func TestConffileUncommentedGivesDefaults(t *testing.T) {
	text := string(Conffile())
	var out []string
	set := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if m := keyLine.FindStringSubmatch(line); m != nil {
			set[m[1]] = true
			line = strings.TrimPrefix(line, "#")
		}
		out = append(out, line)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(file, filepath.Join(dir, "absent.d"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Config, Defaults()) {
		t.Fatalf("uncommented conffile gives %+v, want the defaults %+v", s.Config, Defaults())
	}
	for _, k := range Schema() {
		if k.Table != "" {
			if !strings.Contains(text, "#   "+k.Name+" (") {
				t.Errorf("table key %s is not documented in the conffile", k.Path())
			}
			continue
		}
		if k.Type == "table" {
			if !strings.Contains(text, "#   ["+k.Name+".") {
				t.Errorf("no example [%s.…] table in the conffile", k.Name)
			}
			continue
		}
		if !set[k.Name] {
			t.Errorf("no key line for %s in the conffile", k.Name)
		}
		if s.Position(k.Name) == "" {
			t.Errorf("%s: the uncommented conffile does not set it", k.Name)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("conffile line %q is not a comment: installed, it would set something", line)
		}
		if len(line) > 80 {
			t.Errorf("conffile line longer than 80 columns: %q", line)
		}
	}
}

// TestConffileExamplesParse: each commented example table of the conffile,
// uncommented, is accepted and sets what its lines say.
func TestConffileExamplesParse(t *testing.T) {
	var examples []string
	in := false
	for _, line := range strings.Split(string(Conffile()), "\n") {
		body, ok := strings.CutPrefix(line, "#   ")
		switch {
		case ok && strings.HasPrefix(body, "["):
			examples, in = append(examples, body+"\n"), true
		case ok && in:
			examples[len(examples)-1] += body + "\n"
		default:
			in = false
		}
	}
	if len(examples) != 2 {
		t.Fatalf("found %d example tables, want runtimes and registries: %q", len(examples), examples)
	}
	all := strings.Join(examples, "")
	s, err := Parse("examples.toml", []byte(all))
	if err != nil {
		t.Fatalf("%v\n%s", err, all)
	}
	r, err := s.Runtime("runc-debug")
	if err != nil || !slices.Equal(r.Args, []string{"--debug"}) {
		t.Fatalf("example runtime: %+v, %v\n%s", r, err, all)
	}
	reg, ok := s.Registries["registry.example.com:5000"]
	if !ok || !reg.Insecure || len(reg.Mirrors) != 1 {
		t.Fatalf("example registry: %+v\n%s", s.Registries, all)
	}
}
