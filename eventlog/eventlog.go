package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/berthd/berth/events"
	"github.com/berthd/berth/stream"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// Options select the events to read.
type Options struct {
	// Since is the earliest event's time; zero is the moment of the
	// call (only events to come, as docker).
	Since time.Time
	// Until is the latest event's time; zero follows without end, a
	// time still to come follows until then, a past one reads the
	// journal up to it and ends.
	Until  time.Time
	Filter Filter
	// Journalctl is the program that reads the journal; empty is
	// "journalctl" from PATH.
	Journalctl string
}

// maxEntry bounds one journal entry as journalctl prints it.
const maxEntry = 16 << 20

// Read calls emit with each event that o selects, oldest first, until the
// journal is read up to o.Until (or, when following, until o.Until
// passes), ctx ends (nil is returned then) or emit fails (its error is
// returned). It returns journalctl's message if journalctl fails.
func Read(ctx context.Context, o Options, emit func(evtypes.Message) error) error {
	now := time.Now()
	since := o.Since
	if since.IsZero() {
		since = now
	}
	follow := o.Until.IsZero() || o.Until.After(now)
	// journalctl takes whole seconds (@N); the bounds are applied to
	// the nanosecond here.
	args := []string{"--output=json", "--no-pager", "--lines=all", "--since=@" + strconv.FormatInt(since.Unix(), 10)}
	if follow {
		args = append(args, "--follow")
	} else {
		args = append(args, "--until=@"+strconv.FormatInt(o.Until.Unix()+1, 10))
	}
	args = append(args, "_UID=0", "SYSLOG_IDENTIFIER=berthd", "SYSLOG_IDENTIFIER=berth-monitor")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if follow && !o.Until.IsZero() {
		t := time.AfterFunc(time.Until(o.Until), cancel)
		defer t.Stop()
	}
	prog := o.Journalctl
	if prog == "" {
		prog = "journalctl"
	}
	cmd := exec.CommandContext(rctx, prog, args...)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &capped{b: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot read the journal: %w", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), maxEntry)
	var emitErr error
	early := false
	for sc.Scan() {
		e, err := parseEntry(sc.Bytes())
		if err != nil {
			continue // not an entry; journalctl prints nothing else
		}
		m, ok := Message(e)
		if !ok {
			continue
		}
		at := time.Unix(0, m.TimeNano)
		if at.Before(since) {
			continue
		}
		if !o.Until.IsZero() && at.After(o.Until) {
			if follow {
				early = true
				break
			}
			continue
		}
		if !o.Filter.Match(m) {
			continue
		}
		if emitErr = emit(m); emitErr != nil {
			early = true
			break
		}
	}
	if early {
		cancel()
	}
	io.Copy(io.Discard, out)
	werr := cmd.Wait()
	switch {
	case emitErr != nil:
		return emitErr
	case early || rctx.Err() != nil:
		return nil // until passed, or the caller left
	case werr != nil:
		return fmt.Errorf("journalctl: %v: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return sc.Err()
}

// capped keeps the first n bytes written.
type capped struct {
	b *bytes.Buffer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.n - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// parseEntry reads one line of `journalctl -o json`: a field's value is a
// string, an array of bytes (not valid UTF-8), null (too large) or, for a
// field that the entry holds several times, an array of those; the first
// value is kept.
func parseEntry(line []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return nil, err
	}
	e := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := fieldValue(v); ok {
			e[k] = s
		}
	}
	return e, nil
}

func fieldValue(v json.RawMessage) (string, bool) {
	if string(v) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	var b []byte
	var nums []int
	if json.Unmarshal(v, &nums) == nil {
		for _, n := range nums {
			b = append(b, byte(n))
		}
		return string(b), true
	}
	var many []json.RawMessage
	if json.Unmarshal(v, &many) == nil && len(many) > 0 {
		return fieldValue(many[0])
	}
	return "", false
}

// actions are docker's names for the actions whose berth name differs,
// by type.
var actions = map[evtypes.Type]map[string]evtypes.Action{
	evtypes.ContainerEventType: {events.Removed.Action: evtypes.ActionDestroy},
	evtypes.ImageEventType:     {events.ImageRemoved.Action: evtypes.ActionDelete},
}

// Message turns a journal entry (field to value) into docker's event; it
// reports false for an entry that is no event of berth's. Fields that an
// older berth did not write are left out of the attributes.
func Message(e map[string]string) (evtypes.Message, bool) {
	action := e[events.FieldEvent]
	us, err := strconv.ParseInt(e["__REALTIME_TIMESTAMP"], 10, 64)
	if action == "" || err != nil {
		return evtypes.Message{}, false
	}
	m := evtypes.Message{Scope: "local", Time: us / 1e6, TimeNano: us * 1e3}
	attrs := map[string]string{}
	set := func(attr, field string) {
		if v := e[field]; v != "" {
			attrs[attr] = v
		}
	}
	switch id := e["MESSAGE_ID"]; {
	case id == events.ImageLoaded.MessageID:
		m.Type, m.Actor.ID = evtypes.ImageEventType, e[events.FieldImageID]
		// A load names all of an image's tags, space-separated.
		if name, _, _ := strings.Cut(e[events.FieldImageName], " "); name != "" {
			attrs["name"] = name
		}
		if m.Actor.ID == "" {
			m.Actor.ID = attrs["name"]
		}
	case id == events.VolumeCreated.MessageID:
		m.Type, m.Actor.ID = evtypes.VolumeEventType, e[events.FieldVolumeName]
		attrs["driver"] = "local"
	case id == events.NetworkCreated.MessageID:
		m.Type, m.Actor.ID = evtypes.NetworkEventType, e[events.FieldNetworkID]
		set("name", events.FieldNetworkName)
		set("container", events.FieldContainerID)
	case id == events.Reloaded.MessageID:
		m.Type, m.Actor.ID = evtypes.DaemonEventType, e["_MACHINE_ID"]
		set("name", "_HOSTNAME")
	case e[events.FieldContainerID] != "":
		m.Type, m.Actor.ID = evtypes.ContainerEventType, e[events.FieldContainerID]
		// As docker: the labels, then name and image over them.
		if l := e[events.FieldLabels]; l != "" {
			var labels map[string]string
			if json.Unmarshal([]byte(l), &labels) == nil {
				for k, v := range labels {
					attrs[k] = v
				}
			}
		}
		set("name", events.FieldContainerName)
		set("image", events.FieldImage)
		set("exitCode", events.FieldExitCode)
		set("signal", events.FieldSignal)
		set("oldName", events.FieldOldName)
		if action == events.Committed.Action {
			set("imageID", events.FieldImageID)
			set("imageRef", events.FieldImageName)
		}
	default:
		return evtypes.Message{}, false
	}
	m.Action = evtypes.Action(action)
	if a, ok := actions[m.Type][action]; ok {
		m.Action = a
	}
	// A restart by the restart policy is docker's start.
	if e["MESSAGE_ID"] == events.Restarted.MessageID {
		m.Action = evtypes.ActionStart
	}
	if len(attrs) > 0 {
		m.Actor.Attributes = attrs
	}
	return m, true
}

// Open runs Read for a client and returns the client's end of a stream:
// one stream.Stdout frame per event, its JSON (docker's shape), and a
// stream.Error frame if the read fails. done is called when the stream
// ends (the read ended or the client went away).
func Open(ctx context.Context, o Options, done func()) (*os.File, error) {
	return stream.Serve(ctx, "events", func(ctx context.Context, w *os.File) {
		defer done()
		fw := stream.NewWriter(w)
		err := Read(ctx, o, func(m evtypes.Message) error {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			return fw.Write(stream.Stdout, b)
		})
		if err != nil && !errors.Is(err, unix.EPIPE) && ctx.Err() == nil {
			fw.Write(stream.Error, []byte(err.Error()))
		}
	})
}
