// Package dockerview gives berth's containers in docker's API shapes, with
// the Engine API's own Go types (github.com/moby/moby/api): inspect, the
// list rows and their status wording. The Engine API serves them as they
// are and the D-Bus InspectContainer sends the same JSON with berth's own
// fields added, so there is one rendering of a container.
//
// Empty collections are [] or {}, never null, where docker gives those.
package dockerview

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/logs/logfile"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// DefaultShmSize is docker's /dev/shm size, shown when none was asked.
const DefaultShmSize = 64 << 20

// ImageOf is the image a container was created from as the user named it,
// or for a container of a root file-system directory that directory.
func ImageOf(i lifecycle.Info) string {
	if i.Spec.Image != "" {
		return i.Spec.Image
	}
	return i.Spec.Rootfs
}

// ImageIDOf is docker's image id of a container ("sha256:…"), or its root
// file-system directory.
func ImageIDOf(i lifecycle.Info) string {
	if i.Spec.ImageID != "" {
		return i.Spec.ImageID
	}
	return ImageOf(i)
}

// NetworkMode is the container's network as docker names it.
func NetworkMode(i lifecycle.Info) string {
	if i.Spec.Network == "" {
		return "none"
	}
	return i.Spec.Network
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// OrEmpty is v, or docker's empty list where v is nil.
func OrEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// OrEmptyMap is m, or docker's empty object where m is nil.
func OrEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// State is inspect's State.
func State(i lifecycle.Info) *container.State {
	return &container.State{
		Status: container.ContainerState(i.State.String()),
		// As docker's: a container waiting to be restarted by its
		// policy counts as running (moby's State.SetRestarting).
		Running:    i.State == lifecycle.Running || i.State == lifecycle.Paused || i.State == lifecycle.Restarting,
		Paused:     i.State == lifecycle.Paused,
		Restarting: i.State == lifecycle.Restarting,
		Dead:       i.State == lifecycle.Dead,
		Pid:        i.Pid,
		ExitCode:   i.ExitCode,
		StartedAt:  timeString(i.StartedAt()),
		FinishedAt: timeString(i.FinishedAt),
		Health:     Health(i),
	}
}

// Health is inspect's State.Health: nil without a healthcheck or before
// its first start.
func Health(i lifecycle.Info) *container.Health {
	if i.Health == nil {
		return nil
	}
	h := &container.Health{Status: container.HealthStatus(i.Health.Status), FailingStreak: i.Health.FailingStreak, Log: []*container.HealthcheckResult{}}
	for _, r := range i.Health.Log {
		h.Log = append(h.Log, &container.HealthcheckResult{Start: r.Start, End: r.End, ExitCode: r.ExitCode, Output: r.Output})
	}
	return h
}

// HealthStatus is a container's health as docker's ps filter health=
// reads it: starting, healthy, unhealthy, or none without a healthcheck.
func HealthStatus(i lifecycle.Info) string {
	if i.Health == nil {
		return string(container.NoHealthcheck)
	}
	return i.Health.Status
}

// healthSuffix is docker's health part of a running container's status:
// " (healthy)", " (unhealthy)", " (health: starting)", or nothing.
func healthSuffix(status string) string {
	switch status {
	case "":
		return ""
	case string(container.Starting):
		return " (health: starting)"
	}
	return " (" + status + ")"
}

// RestartPolicy is docker's HostConfig.RestartPolicy of a spec's policy:
// "no" when none was given.
func RestartPolicy(p lifecycle.RestartPolicy) container.RestartPolicy {
	if p.Name == "" {
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}
	}
	return container.RestartPolicy{Name: container.RestartPolicyMode(p.Name), MaximumRetryCount: p.MaximumRetryCount}
}

// Inspect is docker's inspect of a container (GET /containers/{id}/json).
// containerDir is the container's directory under data-root (its etc
// files and local log live there).
func Inspect(i lifecycle.Info, containerDir string) container.InspectResponse {
	s := i.Spec
	var path string
	var args []string
	if argv := append(append([]string{}, s.Entrypoint...), s.Cmd...); len(argv) > 0 {
		path, args = argv[0], argv[1:]
	}
	v := container.InspectResponse{
		ID:              i.ID,
		Created:         timeString(i.CreatedAt),
		Path:            path,
		Args:            OrEmpty(args),
		State:           State(i),
		Image:           ImageIDOf(i),
		Name:            "/" + i.Name,
		RestartCount:    i.RestartCount,
		Driver:          "overlay",
		Platform:        "linux",
		ExecIDs:         nil,
		HostConfig:      HostConfig(i),
		Mounts:          Mounts(i),
		Config:          Config(i),
		LogPath:         logfile.Path(containerDir),
		ResolvConfPath:  filepath.Join(containerDir, "resolv.conf"),
		HostnamePath:    filepath.Join(containerDir, "hostname"),
		HostsPath:       filepath.Join(containerDir, "hosts"),
		NetworkSettings: NetworkSettings(i),
	}
	if i.Spec.ImageID != "" {
		// The container's own overlay directories (its image's layers
		// are the lower ones).
		v.GraphDriver = &storage.DriverData{Name: "overlay", Data: map[string]string{
			"UpperDir": filepath.Join(containerDir, "upper"), "WorkDir": filepath.Join(containerDir, "work"),
			"MergedDir": filepath.Join(containerDir, "rootfs"),
		}}
	}
	return v
}

// Config is inspect's Config.
func Config(i lifecycle.Info) *container.Config {
	s := i.Spec
	c := &container.Config{
		Hostname:     s.Hostname,
		User:         s.User,
		Tty:          s.TTY,
		OpenStdin:    s.Stdin,
		AttachStdin:  s.Stdin,
		Env:          OrEmpty(s.Env),
		Cmd:          OrEmpty(s.Cmd),
		Image:        ImageOf(i),
		Volumes:      map[string]struct{}{},
		WorkingDir:   s.Workdir,
		Entrypoint:   OrEmpty(s.Entrypoint),
		Labels:       OrEmptyMap(s.Labels),
		StopSignal:   s.StopSignal,
		StopTimeout:  s.StopTimeout,
		ExposedPorts: ExposedPorts(i),
		Healthcheck:  i.Spec.Healthcheck,
	}
	if c.Hostname == "" && len(i.ID) >= 12 {
		c.Hostname = i.ID[:12] // docker's default host name
	}
	for _, mp := range s.MountPoints {
		if mp.Anonymous {
			c.Volumes[mp.Destination] = struct{}{}
		}
	}
	return c
}

// HostConfig is inspect's HostConfig.
func HostConfig(i lifecycle.Info) *container.HostConfig {
	s := i.Spec
	shm := int64(s.ShmSize)
	if shm == 0 {
		shm = DefaultShmSize
	}
	ipc := s.IpcMode
	if ipc == "" {
		ipc = "private"
	}
	hc := &container.HostConfig{
		Binds:           OrEmpty(s.Binds),
		NetworkMode:     container.NetworkMode(NetworkMode(i)),
		RestartPolicy:   RestartPolicy(s.RestartPolicy),
		AutoRemove:      s.AutoRemove,
		ConsoleSize:     s.ConsoleSize,
		LogConfig:       container.LogConfig{Type: "journald", Config: map[string]string{}},
		PortBindings:    PortBindings(i),
		PublishAllPorts: s.PublishAllPorts,
		VolumesFrom:     []string{},
		CapAdd:          OrEmpty(s.CapAdd),
		CapDrop:         OrEmpty(s.CapDrop),
		CgroupnsMode:    container.CgroupnsModePrivate,
		DNS:             []netip.Addr{},
		DNSOptions:      OrEmpty(s.DNSOptions),
		DNSSearch:       OrEmpty(s.DNSSearch),
		ExtraHosts:      OrEmpty(s.ExtraHosts),
		GroupAdd:        OrEmpty(s.GroupAdd),
		IpcMode:         container.IpcMode(ipc),
		Links:           []string{},
		OomScoreAdj:     s.OomScoreAdj,
		PidMode:         container.PidMode(s.PidMode),
		Privileged:      s.Privileged,
		ReadonlyRootfs:  s.ReadonlyRootfs,
		SecurityOpt:     OrEmpty(s.SecurityOpt),
		Tmpfs:           OrEmptyMap(s.Tmpfs),
		ShmSize:         shm,
		Sysctls:         OrEmptyMap(s.Sysctls),
		Runtime:         i.RuntimeName(),
		Mounts:          []mount.Mount{},
		MaskedPaths:     []string{},
		ReadonlyPaths:   []string{},
		Init:            &s.Init,
	}
	for _, d := range s.DNS {
		if a, err := netip.ParseAddr(d); err == nil {
			hc.DNS = append(hc.DNS, a)
		}
	}
	hc.Memory = int64(s.Memory)
	hc.NanoCPUs = int64(s.NanoCPUs)
	hc.CPUShares = int64(s.CPUShares)
	if s.PidsLimit > 0 {
		p := int64(s.PidsLimit)
		hc.PidsLimit = &p
	}
	hc.Devices = []container.DeviceMapping{}
	for _, d := range s.Devices {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, CgroupPermissions: d.CgroupPermissions})
	}
	hc.Ulimits = []*container.Ulimit{}
	for _, u := range s.Ulimits {
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	hc.DeviceCgroupRules = []string{}
	hc.BlkioWeightDevice = []*blkiodev.WeightDevice{}
	hc.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{}
	hc.BlkioDeviceWriteBps = []*blkiodev.ThrottleDevice{}
	hc.BlkioDeviceReadIOps = []*blkiodev.ThrottleDevice{}
	hc.BlkioDeviceWriteIOps = []*blkiodev.ThrottleDevice{}
	for _, m := range s.Mounts {
		am := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		switch m.Type {
		case lifecycle.MountBind:
			if m.BindPropagation != "" {
				am.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(m.BindPropagation)}
			}
		case lifecycle.MountVolume:
			am.VolumeOptions = &mount.VolumeOptions{NoCopy: m.VolumeNoCopy, Labels: OrEmptyMap(m.VolumeLabels)}
		case lifecycle.MountTmpfs:
			am.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSize, Mode: m.TmpfsMode}
		}
		hc.Mounts = append(hc.Mounts, am)
	}
	return hc
}

// Mounts is inspect's Mounts: every mount point as resolved at create.
func Mounts(i lifecycle.Info) []container.MountPoint {
	out := []container.MountPoint{}
	for _, mp := range i.Spec.MountPoints {
		m := container.MountPoint{
			Type: mount.Type(mp.Type), Source: mp.Source, Destination: mp.Destination,
			Mode: mp.Mode, RW: mp.RW, Propagation: mount.Propagation(mp.Propagation),
		}
		if mp.Type == lifecycle.MountVolume {
			m.Name = mp.Name
			m.Driver = "local"
			if m.Mode == "" {
				m.Mode = "z" // docker's default mode for volumes
			}
		}
		out = append(out, m)
	}
	return out
}

// Command is a list row's command: the program and its arguments joined
// by spaces, as docker shows it.
func Command(i lifecycle.Info) string {
	return strings.Join(append(append([]string{}, i.Spec.Entrypoint...), i.Spec.Cmd...), " ")
}

// Status is a list row's status in docker's words: "Up 5 seconds",
// "Exited (0) 2 minutes ago", "Created"; now is the time of the listing.
func Status(i lifecycle.Info, now time.Time) string {
	switch i.State {
	case lifecycle.Running:
		h := ""
		if i.Health != nil {
			h = i.Health.Status
		}
		return "Up " + units.HumanDuration(now.Sub(i.StartedAt())) + healthSuffix(h)
	case lifecycle.Paused:
		return "Up " + units.HumanDuration(now.Sub(i.StartedAt())) + " (Paused)"
	case lifecycle.Exited:
		if i.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", i.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", i.ExitCode, units.HumanDuration(now.Sub(i.FinishedAt)))
	case lifecycle.Created:
		return "Created"
	case lifecycle.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", i.ExitCode, units.HumanDuration(now.Sub(i.FinishedAt)))
	case lifecycle.Dead:
		return "Dead"
	}
	return i.State.String()
}

// Summary is one row of GET /containers/json.
func Summary(i lifecycle.Info, now time.Time) container.Summary {
	sum := container.Summary{
		ID:      i.ID,
		Names:   []string{"/" + i.Name},
		Image:   ImageOf(i),
		ImageID: ImageIDOf(i),
		Command: Command(i),
		Created: i.CreatedAt.Unix(),
		Ports:   PortSummaries(i),
		Labels:  OrEmptyMap(i.Spec.Labels),
		State:   container.ContainerState(i.State.String()),
		Status:  Status(i, now),
		Mounts:  Mounts(i),
		Health:  healthSummary(i),
		NetworkSettings: &container.NetworkSettingsSummary{
			Networks: map[string]*network.EndpointSettings{},
		},
	}
	sum.HostConfig.NetworkMode = NetworkMode(i)
	sum.NetworkSettings.Networks = NetworkSettings(i).Networks
	return sum
}

// healthSummary is a list row's Health (API 1.52): none without a
// healthcheck.
func healthSummary(i lifecycle.Info) *container.HealthSummary {
	s := &container.HealthSummary{Status: container.HealthStatus(HealthStatus(i))}
	if i.Health != nil {
		s.FailingStreak = i.Health.FailingStreak
	}
	return s
}

// JSON is Inspect as docker's JSON, merged with extra top-level fields
// (D-Bus adds berth's own: Unit, ObjectPath, RuntimePath). HostConfig's
// collections that the API types omit when empty (Mounts, Tmpfs,
// Sysctls, StorageOpt, Annotations) are written as [] and {}, so that
// templates never meet null or a missing key.
func JSON(v container.InspectResponse, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if hc, ok := m["HostConfig"].(map[string]any); ok {
		for k, empty := range map[string]any{"Mounts": []any{}, "Tmpfs": map[string]any{}, "Sysctls": map[string]any{},
			"StorageOpt": map[string]any{}, "Annotations": map[string]any{}} {
			if hc[k] == nil {
				hc[k] = empty
			}
		}
	}
	if ns, ok := m["NetworkSettings"].(map[string]any); ok {
		for k, x := range legacyNetworkFields(v.NetworkSettings) {
			if _, set := ns[k]; !set {
				ns[k] = x
			}
		}
	}
	for k, x := range extra {
		m[k] = x
	}
	return json.MarshalIndent(m, "", "  ")
}
