package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

type logsFlags struct {
	follow, timestamps bool
	tail, since, until string
}

// options builds GetContainerLogs' options: "follow" (b), "tail" (x, absent
// for all), "since" and "until" (x, µs since the epoch, absent for none),
// "timestamps" (b, only when asked). now anchors durations.
func (f *logsFlags) options(now time.Time) (map[string]dbus.Variant, error) {
	o := map[string]dbus.Variant{"follow": dbus.MakeVariant(f.follow)}
	if f.tail != "all" && f.tail != "" {
		n, err := strconv.ParseInt(f.tail, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--tail %q: want a number of lines or \"all\"", f.tail)
		}
		if n >= 0 { // docker reads a negative count as all
			o["tail"] = dbus.MakeVariant(n)
		}
	}
	if err := putTimeRange(o, f.since, f.until, now); err != nil {
		return nil, err
	}
	if f.timestamps {
		o["timestamps"] = dbus.MakeVariant(true)
	}
	return o, nil
}

var unixSeconds = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?$`)

// timeLayouts are docker's (api/types/time), most precise first; those
// without a zone are local time.
var timeLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02T15:04:05.999999999", false},
	{"2006-01-02T15:04:05Z07:00", true},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02T15:04Z07:00", true},
	{"2006-01-02T15:04", false},
	{"2006-01-02T15Z07:00", true},
	{"2006-01-02T15", false},
	{"2006-01-02Z07:00", true},
	{"2006-01-02", false},
}

// parseTime reads a time as docker logs --since does: a duration before
// now ("10m", "1h30m"), unix seconds with up to nine decimals, or RFC 3339
// and its shorter forms (local time without a zone). "0" is unix time 0,
// not a duration of nothing, as docker's parser has it.
func parseTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		return now.Add(-d), nil
	}
	if unixSeconds.MatchString(s) {
		sec, frac, _ := strings.Cut(s, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return time.Time{}, fmt.Errorf("%q: out of range", s)
		}
		var ns int64
		if frac != "" {
			ns, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if strings.HasPrefix(sec, "-") {
				ns = -ns
			}
		}
		return time.Unix(n, ns), nil
	}
	for _, l := range timeLayouts {
		var t time.Time
		var err error
		if l.zoned {
			t, err = time.Parse(l.layout, s)
		} else {
			t, err = time.ParseInLocation(l.layout, s, time.Local)
		}
		if err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: not a time (want RFC 3339 like 2026-11-29T10:00:00Z, unix seconds or a duration like 10m)", s)
}

// putTimeRange puts --since and --until (parseTime's forms, "" for none)
// into o as "since" and "until" (x: microseconds since the epoch); an
// --until before --since is an error.
func putTimeRange(o map[string]dbus.Variant, since, until string, now time.Time) error {
	var bounds [2]time.Time
	for i, t := range []struct{ flag, value, key string }{{"--since", since, "since"}, {"--until", until, "until"}} {
		if t.value == "" {
			continue
		}
		at, err := parseTime(t.value, now)
		if err != nil {
			return fmt.Errorf("%s: %w", t.flag, err)
		}
		if at.UnixMicro() < 0 {
			return fmt.Errorf("%s %s: before 1970-01-01", t.flag, t.value)
		}
		bounds[i] = at
		o[t.key] = dbus.MakeVariant(at.UnixMicro())
	}
	if s, u := bounds[0], bounds[1]; !s.IsZero() && !u.IsZero() && u.Before(s) {
		return fmt.Errorf("--until %s is before --since %s", until, since)
	}
	return nil
}
