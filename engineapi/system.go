package engineapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/berthd/berth/config"
	"github.com/berthd/berth/dockerview"
	"github.com/moby/moby/api/types/registry"
	"io"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthd/berth/lifecycle"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

// ping is GET and HEAD /_ping: docker's liveness check and version
// negotiation (the client reads Api-Version).
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Builder-Version", "1")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte("OK"))
	return err
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// osRelease reads /etc/os-release's PRETTY_NAME (os-release(5)).
func osRelease() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
				return strings.Trim(v, `"'`)
			}
		}
	}
	return "Linux"
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	v := system.VersionResponse{
		Platform:      struct{ Name string }{Name: "berth"},
		Version:       s.Version,
		APIVersion:    APIVersion,
		MinAPIVersion: MinAPIVersion,
		GoVersion:     runtime.Version(),
		Os:            "linux",
		Arch:          runtime.GOARCH,
		KernelVersion: kernelVersion(),
		Components: []system.ComponentVersion{{
			Name: "Engine", Version: s.Version,
			Details: map[string]string{
				"ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "Os": "linux", "Arch": runtime.GOARCH,
				"GoVersion": runtime.Version(), "KernelVersion": kernelVersion(),
			},
		}},
	}
	return writeJSON(w, http.StatusOK, v)
}

// info is GET /info with this host's and this engine's figures.
func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	snap := s.snapshot()
	v := system.Info{
		ID:                 "",
		Driver:             "overlay",
		DriverStatus:       [][2]string{{"Backing Filesystem", "overlay"}},
		LoggingDriver:      "journald",
		CgroupDriver:       "systemd",
		CgroupVersion:      "2",
		KernelVersion:      kernelVersion(),
		OperatingSystem:    osRelease(),
		OSType:             "linux",
		OSVersion:          "",
		Architecture:       archName(),
		NCPU:               runtime.NumCPU(),
		IndexServerAddress: "https://index.docker.io/v1/",
		DockerRootDir:      snap.DataRoot,
		ServerVersion:      s.Version,
		DefaultRuntime:     snap.DefaultRuntime,
		Runtimes:           map[string]system.RuntimeWithStatus{},
		Labels:             []string{"io.berth.config-digest=" + snap.Digest},
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		Swarm:              swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		SecurityOptions:    []string{"name=seccomp,profile=builtin", "name=cgroupns"},
		MemoryLimit:        true,
		PidsLimit:          true,
		CPUShares:          true,
		CPUSet:             false,
		OomKillDisable:     false,
		IPv4Forwarding:     false,
		Plugins: system.PluginsInfo{
			Volume:  []string{"local"},
			Network: []string{"bridge", "host", "null"},
			Log:     []string{"journald", "local"},
		},
		RegistryConfig: registryConfig(snap),
		Warnings:       []string{},
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		v.ID = strings.TrimSpace(string(id))
	}
	v.Name, _ = os.Hostname()
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		v.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	for _, name := range snap.RuntimeNames() {
		rt, err := snap.Runtime(name)
		if err != nil {
			continue
		}
		v.Runtimes[name] = system.RuntimeWithStatus{Runtime: system.Runtime{Path: rt.Binary, Args: rt.Args}}
	}
	for _, i := range s.Manager.List() {
		v.Containers++
		switch i.State {
		case lifecycle.Running, lifecycle.Restarting:
			v.ContainersRunning++
		case lifecycle.Paused:
			v.ContainersPaused++
		default:
			v.ContainersStopped++
		}
	}
	v.Images = len(s.Images.List())
	return writeJSON(w, http.StatusOK, v)
}

func archName() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

// parseFilters reads docker's filters parameter: JSON of key → {value:
// true} (or, from old clients, key → [values]). Keys outside allowed are
// docker's 400 "invalid filter".
func parseFilters(r *http.Request, allowed ...string) (map[string][]string, error) {
	out := map[string][]string{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("invalid filters: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	for k, v := range m {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
		var set map[string]bool
		if err := json.Unmarshal(v, &set); err == nil {
			for val, on := range set {
				if on {
					out[k] = append(out[k], val)
				}
			}
			sort.Strings(out[k])
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, fmt.Errorf("invalid filters: key %q: want {\"value\": true} or [\"value\"]: %w", k, errdefs.ErrInvalidArgument)
		}
		out[k] = append(out[k], list...)
	}
	return out, nil
}

// jsonEncode writes v as JSON after the headers were sent; like dockerd,
// it leaves <, > and & as they are ("<none>:<none>", commands).
func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// registryConfig is info's RegistryConfig from the configuration's
// [registries]: docker.io (official, secure) and each configured host
// with its mirrors; loopback registries are plain HTTP, as docker's.
func registryConfig(snap *config.Snapshot) *registry.ServiceConfig {
	rc := &registry.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IndexConfigs:          map[string]*registry.IndexInfo{},
		Mirrors:               []string{},
	}
	official := snap.Registries["docker.io"]
	rc.IndexConfigs["docker.io"] = &registry.IndexInfo{Name: "docker.io", Mirrors: dockerview.OrEmpty(official.Mirrors), Secure: !official.Insecure, Official: true}
	rc.Mirrors = dockerview.OrEmpty(official.Mirrors)
	for host, r := range snap.Registries {
		if host == "docker.io" {
			continue
		}
		rc.IndexConfigs[host] = &registry.IndexInfo{Name: host, Mirrors: dockerview.OrEmpty(r.Mirrors), Secure: !r.Insecure}
	}
	return rc
}
