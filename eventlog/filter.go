package eventlog

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	evtypes "github.com/moby/moby/api/types/events"
)

// Filter selects events as docker's events filters do: each key that is
// set must match (any of its values), except label, where every value
// must match. The zero Filter selects everything.
type Filter struct {
	f map[string][]string
}

// FilterKeys are the filter keys berth applies.
var FilterKeys = []string{"container", "daemon", "event", "image", "label", "network", "type", "volume"}

// types are the event types docker knows (a type filter must name one).
var types = []evtypes.Type{
	evtypes.BuilderEventType, evtypes.ConfigEventType, evtypes.ContainerEventType, evtypes.DaemonEventType,
	evtypes.ImageEventType, evtypes.NetworkEventType, evtypes.NodeEventType, evtypes.PluginEventType,
	evtypes.SecretEventType, evtypes.ServiceEventType, evtypes.VolumeEventType,
}

// NewFilter checks filters (key to values, docker's --filter KEY=VALUE
// pairs) and returns their Filter. A key outside FilterKeys, an unknown
// type or an empty value is errdefs.ErrInvalidArgument.
func NewFilter(filters map[string][]string) (Filter, error) {
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(FilterKeys, k) {
			return Filter{}, fmt.Errorf("invalid filter '%s' (known: %s): %w", k, strings.Join(FilterKeys, ", "), errdefs.ErrInvalidArgument)
		}
		for _, v := range filters[k] {
			if v == "" {
				return Filter{}, fmt.Errorf("filter '%s': empty value: %w", k, errdefs.ErrInvalidArgument)
			}
			if k == "type" && !slices.Contains(types, evtypes.Type(v)) {
				names := make([]string, len(types))
				for i, t := range types {
					names[i] = string(t)
				}
				return Filter{}, fmt.Errorf("filter 'type=%s': unknown event type (known: %s): %w", v, strings.Join(names, ", "), errdefs.ErrInvalidArgument)
			}
		}
	}
	return Filter{f: filters}, nil
}

// Match reports whether the filter selects m.
func (f Filter) Match(m evtypes.Message) bool {
	return f.event(string(m.Action)) &&
		f.exact("type", string(m.Type)) &&
		f.actor("container", m) && f.actor("daemon", m) && f.actor("network", m) && f.actor("volume", m) &&
		f.image(m) && f.labels(m.Actor.Attributes)
}

// exact: no values for key, or one equal to any of vs.
func (f Filter) exact(key string, vs ...string) bool {
	want := f.f[key]
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if slices.Contains(vs, w) {
			return true
		}
	}
	return false
}

// event matches the action; health_status, exec_create and exec_start
// also match their forms with a status ("health_status: healthy").
func (f Filter) event(action string) bool {
	want := f.f["event"]
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if w == action || (w == "health_status" || w == "exec_create" || w == "exec_start") && strings.HasPrefix(action, w+":") {
			return true
		}
	}
	return false
}

// actor matches the event's subject, by id, id prefix, name or name
// prefix, as docker's container=, volume=, network= and daemon= do
// (whatever the event's type: container=web selects web's own events).
func (f Filter) actor(key string, m evtypes.Message) bool {
	want := f.f[key]
	if len(want) == 0 {
		return true
	}
	name := m.Actor.Attributes["name"]
	for _, w := range want {
		if strings.HasPrefix(m.Actor.ID, w) || name != "" && strings.HasPrefix(name, w) {
			return true
		}
	}
	return false
}

// image matches an image event's image (id or name) or a container
// event's image, also without the tag.
func (f Filter) image(m evtypes.Message) bool {
	attr := "image"
	if m.Type == evtypes.ImageEventType {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	return f.exact("image", m.Actor.ID, name, stripTag(m.Actor.ID), stripTag(name))
}

// stripTag drops the tag (or digest) of an image reference.
func stripTag(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// labels: every label filter, KEY or KEY=VALUE, matches an attribute.
func (f Filter) labels(attrs map[string]string) bool {
	for _, w := range f.f["label"] {
		k, v, hasValue := strings.Cut(w, "=")
		got, ok := attrs[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}
