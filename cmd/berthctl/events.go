package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/berthd/berth/stream"
	"github.com/godbus/dbus/v5"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/spf13/cobra"
)

type eventsFlags struct {
	since, until, format string
	filters              []string
}

// options builds GetEvents' options: "since" and "until" (x, µs since the
// epoch, absent for none) and "filter" (as, KEY=VALUE). now anchors
// durations.
func (f *eventsFlags) options(now time.Time) (map[string]dbus.Variant, error) {
	o := map[string]dbus.Variant{}
	if err := putTimeRange(o, f.since, f.until, now); err != nil {
		return nil, err
	}
	for _, kv := range f.filters {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE", kv)
		}
	}
	if len(f.filters) > 0 {
		o["filter"] = dbus.MakeVariant(f.filters)
	}
	return o, nil
}

// eventTimeLayout is docker's (RFC3339NanoFixed): fixed width.
const eventTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// eventPrinter writes an event as --format asks: docker's line by
// default, "json" one JSON object a line, or a Go template.
type eventPrinter func(w io.Writer, m evtypes.Message) error

func newEventPrinter(format string) (eventPrinter, error) {
	switch format {
	case "":
		return printEvent, nil
	case "json":
		return func(w io.Writer, m evtypes.Message) error {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", b)
			return err
		}, nil
	}
	t, err := parseTemplate(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return func(w io.Writer, m evtypes.Message) error {
		s, err := t.execute(m)
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		_, err = fmt.Fprintln(w, strings.TrimRight(s, "\n"))
		return err
	}, nil
}

// printEvent writes docker's line: time (local, nanoseconds), type,
// action, actor id and the attributes sorted by name.
func printEvent(w io.Writer, m evtypes.Message) error {
	var b strings.Builder
	b.WriteString(time.Unix(0, m.TimeNano).Format(eventTimeLayout))
	fmt.Fprintf(&b, " %s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			sep := ", "
			if i == 0 {
				sep = " ("
			}
			b.WriteString(sep + k + "=" + m.Actor.Attributes[k])
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// copyEvents prints the events of a GetEvents stream until it ends.
func copyEvents(f *os.File, out io.Writer, p eventPrinter) error {
	defer f.Close()
	bw := bufio.NewWriter(out)
	for {
		k, payload, err := stream.Read(f)
		if errors.Is(err, io.EOF) {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		switch k {
		case stream.Stdout:
			var m evtypes.Message
			if err := json.Unmarshal(payload, &m); err != nil {
				return fmt.Errorf("events: %w", err)
			}
			if err := p(bw, m); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		case stream.Error:
			bw.Flush()
			return errors.New(string(payload))
		case stream.Notice:
			bw.Flush()
			fmt.Fprintln(os.Stderr, string(payload))
		}
	}
}

func eventsCommand(cl *client) *cobra.Command {
	var ef eventsFlags
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Show berth's events",
		Long: "Show berth's events (containers, images, volumes, networks), read from the journal by berthd,\n" +
			"so those that happened while berthd was not running are there too. Without --since, only events to come;\n" +
			"without --until, it follows until interrupted.\n\n" +
			"--since and --until take docker's forms: RFC 3339, a date and time without a zone (local time),\n" +
			"unix seconds or a duration before now (10m). Filters (docker's): container=, event=, image=, label=,\n" +
			"network=, type=, volume=, daemon=; values of one key are alternatives, different keys must all match.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := ef.options(time.Now())
			if err != nil {
				return usagef("%w", err)
			}
			p, err := newEventPrinter(ef.format)
			if err != nil {
				return usagef("%w", err)
			}
			f, err := cl.stream("GetEvents", o)
			if err != nil {
				return err
			}
			return copyEvents(f, os.Stdout, p)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&ef.since, "since", "", "Show events since a time or a duration ago (e.g. 2026-11-29T10:00:00Z, 1764410400, 10m)")
	fs.StringVar(&ef.until, "until", "", "Show events until a time or a duration ago; without it, follow")
	fs.StringArrayVarP(&ef.filters, "filter", "f", nil, "Filter the events (KEY=VALUE; repeatable)")
	fs.StringVar(&ef.format, "format", "", "Format each event: json, or a Go template ({{.Type}} {{.Action}} {{.Actor.ID}})")
	return cmd
}
