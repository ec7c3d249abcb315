package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// templateFuncs are docker's template functions (docker/cli
// templates.basicFunctions), so docker's --format strings work.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(b.String()), nil
	},
	"split": strings.Split,
	"join":  join,
	"title": title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": truncate,
}

// decodeJSON decodes inspect's JSON for templates with whole numbers as
// int64, so {{.HostConfig.Memory}} prints 67108864 (not 6.7108864e+07)
// and {{eq .State.ExitCode 0}} compares, as with docker's typed structs.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// join joins the elements of any slice with sep, as strings.Join does
// for []string (inspect's JSON gives []any).
func join(v any, sep string) (string, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: want a list, got %T", v)
	}
	parts := make([]string, rv.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(rv.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

// title upper-cases the first letter of each word.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || unicode.IsPunct(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// truncate keeps the first n characters of s.
func truncate(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// formatTemplate is a parsed --format: a Go template, tabular when it
// began with "table" (columns aligned, a header row first).
type formatTemplate struct {
	t     *template.Template
	table bool
}

// parseTemplate parses a --format value as docker does: an optional
// "table" prefix, then a Go template in which the two characters \t and
// \n stand for a tab and a newline.
func parseTemplate(format string) (*formatTemplate, error) {
	f := &formatTemplate{}
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		f.table = true
		format = strings.TrimLeft(rest, " ")
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, err
	}
	f.t = t
	return f, nil
}

// execute renders one value.
func (f *formatTemplate) execute(v any) (string, error) {
	var b bytes.Buffer
	if err := f.t.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// write renders rows, one a line; a table gets a header row, rendered
// from headers (the column title of each field), and aligned columns.
func (f *formatTemplate) write(w io.Writer, headers map[string]string, rows []any) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var b bytes.Buffer
		if err := f.t.Option("missingkey=zero").Execute(&b, headers); err != nil {
			return err
		}
		f.t.Option("missingkey=default")
		fmt.Fprintln(out, strings.TrimRight(b.String(), "\n"))
	}
	for _, r := range rows {
		s, err := f.execute(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, strings.TrimRight(s, "\n"))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}
