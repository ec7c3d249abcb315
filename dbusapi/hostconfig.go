package dbusapi

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/berthd/berth/lifecycle"
	"github.com/berthd/berth/network"
	"github.com/berthd/berth/ocispec"
	"github.com/containerd/errdefs"
	"github.com/godbus/dbus/v5"
)

// hostConfigKeys are CreateContainer's options for docker's everyday run
// options, named after its HostConfig and Config fields in snake_case.
var hostConfigKeys = []string{
	"entrypoint", "labels", "readonly_rootfs", "cap_add", "cap_drop", "privileged", "devices", "ulimits",
	"init", "shm_size", "extra_hosts", "dns", "dns_search", "dns_options", "group_add", "sysctls",
	"security_opt", "pid_mode", "ipc_mode", "oom_score_adj",
	"publish", "publish_all", "expose", "network_aliases", "ip", "networks",
}

// hostConfigFromOptions reads those options into s; the values are
// checked by lifecycle at create.
func hostConfigFromOptions(o map[string]dbus.Variant, s *lifecycle.Spec) error {
	var err error
	strs := func(name string, dst *[]string) {
		if err == nil {
			*dst, err = optStrings(o, name)
		}
	}
	str := func(name string, dst *string) {
		if err == nil {
			*dst, err = optString(o, name)
		}
	}
	boolean := func(name string, dst *bool) {
		if err == nil {
			*dst, err = optBool(o, name, false)
		}
	}
	dict := func(name string, dst *map[string]string) {
		if err == nil {
			*dst, err = optDict(o, name)
		}
	}
	var publish, expose, aliases, nets []string
	var ip string
	strs("publish", &publish)
	strs("expose", &expose)
	strs("network_aliases", &aliases)
	strs("networks", &nets)
	str("ip", &ip)
	boolean("publish_all", &s.PublishAllPorts)
	if err != nil {
		return err
	}
	if err := networkOptions(s, publish, expose, aliases, nets, ip); err != nil {
		return err
	}
	strs("entrypoint", &s.Entrypoint)
	strs("cap_add", &s.CapAdd)
	strs("cap_drop", &s.CapDrop)
	strs("extra_hosts", &s.ExtraHosts)
	strs("dns", &s.DNS)
	strs("dns_search", &s.DNSSearch)
	strs("dns_options", &s.DNSOptions)
	strs("group_add", &s.GroupAdd)
	strs("security_opt", &s.SecurityOpt)
	str("pid_mode", &s.PidMode)
	str("ipc_mode", &s.IpcMode)
	boolean("readonly_rootfs", &s.ReadonlyRootfs)
	boolean("privileged", &s.Privileged)
	boolean("init", &s.Init)
	dict("labels", &s.Labels)
	dict("sysctls", &s.Sysctls)
	if err != nil {
		return err
	}
	if _, ok := o["entrypoint"]; ok && s.Entrypoint == nil {
		s.Entrypoint = []string{} // given and empty: the image's command stays, its entrypoint goes
	}
	if _, ok := o["shm_size"]; ok {
		v, err := optInt(o, "shm_size")
		if err != nil {
			return err
		}
		if v <= 0 {
			return fmt.Errorf("option \"shm_size\": %d: want a positive number of bytes: %w", v, errdefs.ErrInvalidArgument)
		}
		s.ShmSize = uint64(v)
	}
	if _, ok := o["oom_score_adj"]; ok {
		v, err := optInt(o, "oom_score_adj")
		if err != nil {
			return err
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return fmt.Errorf("option \"oom_score_adj\": %d: want -1000 to 1000: %w", v, errdefs.ErrInvalidArgument)
		}
		s.OomScoreAdj = int(v)
	}
	if s.Devices, err = optDevices(o); err != nil {
		return err
	}
	if s.Ulimits, err = optUlimits(o); err != nil {
		return err
	}
	return nil
}

func optDict(o map[string]dbus.Variant, name string) (map[string]string, error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	m, ok := v.Value().(map[string]string)
	if !ok {
		return nil, invalidOpt(name, "a string dictionary (a{ss})", v)
	}
	return maps.Clone(m), nil
}

// optDevices reads "devices" (a(sss): path on the host, path in the
// container, cgroup permissions); an empty container path is the host's,
// empty permissions are rwm, as docker's.
func optDevices(o map[string]dbus.Variant) ([]ocispec.Device, error) {
	v, ok := o["devices"]
	if !ok {
		return nil, nil
	}
	rows, ok := v.Value().([][]any)
	if !ok {
		return nil, invalidOpt("devices", "an array of (host path, container path, permissions) (a(sss))", v)
	}
	var out []ocispec.Device
	for _, r := range rows {
		if len(r) != 3 {
			return nil, invalidOpt("devices", "a(sss)", v)
		}
		host, ok1 := r[0].(string)
		ctr, ok2 := r[1].(string)
		perms, ok3 := r[2].(string)
		if !ok1 || !ok2 || !ok3 {
			return nil, invalidOpt("devices", "a(sss)", v)
		}
		if ctr == "" {
			ctr = host
		}
		if perms == "" {
			perms = "rwm"
		}
		out = append(out, ocispec.Device{PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms})
	}
	return out, nil
}

// optUlimits reads "ulimits" (a(sxx): docker's name, soft, hard; -1 is
// unlimited).
func optUlimits(o map[string]dbus.Variant) ([]ocispec.Ulimit, error) {
	v, ok := o["ulimits"]
	if !ok {
		return nil, nil
	}
	rows, ok := v.Value().([][]any)
	if !ok {
		return nil, invalidOpt("ulimits", "an array of (name, soft, hard) (a(sxx))", v)
	}
	var out []ocispec.Ulimit
	for _, r := range rows {
		if len(r) != 3 {
			return nil, invalidOpt("ulimits", "a(sxx)", v)
		}
		name, ok1 := r[0].(string)
		soft, ok2 := r[1].(int64)
		hard, ok3 := r[2].(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil, invalidOpt("ulimits", "a(sxx)", v)
		}
		out = append(out, ocispec.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	return out, nil
}

// networkOptions reads docker's -p (publish, its own parser), --expose,
// --network-alias and --ip (for the container's primary network: the
// endpoint "" until create names it) and more networks to join.
func networkOptions(s *lifecycle.Spec, publish, expose, aliases, nets []string, ip string) error {
	if len(publish) > 0 {
		exposed, pm, err := network.ParsePortSpecs(publish)
		if err != nil {
			return err
		}
		s.PortBindings = pm
		s.ExposedPorts = append(s.ExposedPorts, exposed...)
	}
	if len(expose) > 0 {
		exposed, err := network.ParseExpose(expose)
		if err != nil {
			return err
		}
		for _, e := range exposed {
			if !slices.Contains(s.ExposedPorts, e) {
				s.ExposedPorts = append(s.ExposedPorts, e)
			}
		}
	}
	if len(aliases) > 0 || ip != "" || len(nets) > 0 {
		s.Endpoints = map[string]network.EndpointConfig{"": {Aliases: aliases, IPv4Address: ip}}
		for _, n := range nets {
			if _, dup := s.Endpoints[n]; dup || n == "" {
				return fmt.Errorf("option \"networks\": %q named twice or empty: %w", n, errdefs.ErrInvalidArgument)
			}
			s.Endpoints[n] = network.EndpointConfig{}
		}
	}
	return nil
}
