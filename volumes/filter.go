package volumes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
)

// Filters are docker's volume filters: name= (a substring of the name),
// label=KEY or label=KEY=VALUE, label!=… (prune), dangling=true|false (no
// container uses it), driver=local. The same key repeated matches any of
// its values; different keys must all match.
type Filters map[string][]string

// ParseFilters reads "key=value" filters; prune takes label and label!
// only, as docker.
func ParseFilters(in []string, prune bool) (Filters, error) {
	f := Filters{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if strings.HasSuffix(k, "!") {
			k = strings.TrimSuffix(k, "!") + "!"
		}
		if !ok || v == "" {
			return nil, fmt.Errorf("filter %q: want KEY=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		known := []string{"name", "label", "label!", "dangling", "driver"}
		if prune {
			known = []string{"label", "label!"}
		}
		found := false
		for _, n := range known {
			found = found || n == k
		}
		if !found {
			return nil, fmt.Errorf("filter %q: unknown key %q (known: %s): %w", kv, k, strings.Join(known, ", "), errdefs.ErrInvalidArgument)
		}
		if k == "dangling" && v != "true" && v != "false" && v != "1" && v != "0" {
			return nil, fmt.Errorf("filter %q: dangling takes true or false: %w", kv, errdefs.ErrInvalidArgument)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// Match reports whether e passes every filter.
func (f Filters) Match(e Entry) bool {
	oneOf := func(key string, ok func(v string) bool) bool {
		vals, has := f[key]
		return !has || slices.ContainsFunc(vals, ok)
	}
	label := func(v string) bool {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := e.Labels[k]
		return ok && (!hasValue || got == want)
	}
	if vals, has := f["label!"]; has {
		for _, v := range vals {
			if label(v) {
				return false
			}
		}
	}
	return oneOf("name", func(v string) bool { return strings.Contains(e.Name, v) }) &&
		oneOf("driver", func(v string) bool { return v == e.Driver }) &&
		oneOf("dangling", func(v string) bool { return (v == "true" || v == "1") == (len(e.Users) == 0) }) &&
		allLabels(f["label"], label)
}

// allLabels: every label filter must hold (docker's rule for labels).
func allLabels(vals []string, ok func(string) bool) bool {
	for _, v := range vals {
		if !ok(v) {
			return false
		}
	}
	return true
}
