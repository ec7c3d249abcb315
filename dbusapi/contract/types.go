package contract

import "github.com/godbus/dbus/v5"

// ContainerEntry is one row of ListContainers:
// (ssssstttioa{ss}a(ss)a(sqqs)ass).
type ContainerEntry struct {
	ID         string
	Name       string
	Image      string
	Command    string // JSON array
	State      string
	CreatedAt  uint64 // µs since the epoch
	StartedAt  uint64
	FinishedAt uint64
	ExitCode   int32
	Path       dbus.ObjectPath
	Labels     map[string]string // Config.Labels, for ps --filter label=
	Mounts     []MountEntry      // for ps --filter volume= and .Mounts
	Ports      []PortEntry       // published ports while it runs, and exposed ones
	Networks   []string          // the networks it is configured for (or its network mode)
	Health     string            // starting, healthy, unhealthy; "" without a healthcheck
}

// PortEntry is one port of a ListContainers row, docker's PortSummary:
// (sqqs), the host address ("" for an exposed port that is not
// published), the container port, the host port (0: not published) and
// the protocol (tcp, udp).
type PortEntry struct {
	IP          string
	PrivatePort uint16
	PublicPort  uint16
	Type        string
}

// NetworkEntry is one row of ListNetworks: (ssssssbba{ss}tuo).
type NetworkEntry struct {
	ID         string
	Name       string
	Driver     string // bridge, host or null
	Interface  string // the bridge on the host ("" for host and none)
	Subnet     string // CIDR, "" for host and none
	Gateway    string
	Internal   bool
	DNSEnabled bool // containers on it resolve each other's names
	Labels     map[string]string
	Created    uint64 // µs since the epoch
	Users      uint32 // containers attached now
	Path       dbus.ObjectPath
}

// MountEntry is one mount of a ListContainers row: (ss), the volume's
// name (a bind's host path, a tmpfs's "tmpfs") and the target.
type MountEntry struct {
	Name        string
	Destination string
}

// ImageEntry is one row of ListImages: (sasasttso).
type ImageEntry struct {
	ID           string
	RepoTags     []string // familiar names
	RepoDigests  []string // familiar repository digests ("busybox@sha256:…")
	Created      uint64   // µs since the epoch
	Size         uint64
	Architecture string
	Path         dbus.ObjectPath
}

// LoadedImage is one row of LoadImage's answer: (sas).
type LoadedImage struct {
	ID   string
	Tags []string
}

// VolumeEntry is one row of ListVolumes: (sssta{ss}buo).
type VolumeEntry struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  uint64 // µs since the epoch
	Labels     map[string]string
	Anonymous  bool
	Users      uint32 // containers that use it
	Path       dbus.ObjectPath
}

// PathStat is a path's stat in a container, docker's
// container.PathStat on the wire: (sxuxs), the base name, the size, the
// mode as Go's os.FileMode bits (as docker's API sends it), the
// modification time in µs since the epoch and a link's target inside
// the container ("" for others).
type PathStat struct {
	Name       string
	Size       int64
	Mode       uint32
	Mtime      int64
	LinkTarget string
}
