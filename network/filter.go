package network

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
)

// Filters are docker's network list filters: name= (a substring of the
// name), id= (a prefix of the id), driver=, scope=local, type=builtin
// (bridge, host, none) or custom, label=KEY or KEY=VALUE,
// dangling=true|false (a user-defined network no container is attached
// to). The same key repeated matches any of its values; different keys,
// and every label, must all match.
type Filters map[string][]string

// ParseFilters reads "key=value" filters; an unknown key or a bad value
// is errdefs.ErrInvalidArgument naming the filter.
func ParseFilters(in []string) (Filters, error) {
	known := []string{"dangling", "driver", "id", "label", "name", "scope", "type"}
	f := Filters{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("filter %q: want KEY=VALUE: %w", kv, errdefs.ErrInvalidArgument)
		}
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("filter %q: unknown key %q (known: %s): %w", kv, k, strings.Join(known, ", "), errdefs.ErrInvalidArgument)
		}
		switch {
		case k == "type" && v != "builtin" && v != "custom":
			return nil, fmt.Errorf("filter %q: type takes builtin or custom: %w", kv, errdefs.ErrInvalidArgument)
		case k == "dangling" && !slices.Contains([]string{"true", "false", "1", "0"}, strings.ToLower(v)):
			return nil, fmt.Errorf("filter %q: dangling takes true or false: %w", kv, errdefs.ErrInvalidArgument)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// Match reports whether n, with users containers attached, passes every
// filter.
func (f Filters) Match(n *Network, users int) bool {
	oneOf := func(key string, ok func(v string) bool) bool {
		vals, has := f[key]
		return !has || slices.ContainsFunc(vals, ok)
	}
	for _, v := range f["label"] {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := n.Labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	dangling := !n.Predefined() && users == 0
	return oneOf("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		oneOf("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		oneOf("driver", func(v string) bool { return v == n.Driver }) &&
		oneOf("scope", func(v string) bool { return v == "local" }) &&
		oneOf("type", func(v string) bool { return (v == "builtin") == n.Predefined() }) &&
		oneOf("dangling", func(v string) bool { v = strings.ToLower(v); return (v == "true" || v == "1") == dangling })
}
