package engineapi

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// cliRunBody is what the docker CLI 28 sends for
// `docker run --rm -v data:/d --mount type=volume,src=x,dst=/x --tmpfs /t busybox true`.
const cliRunBody = `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":["data:/d"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"Tmpfs":{"/t":""},"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"Mounts":[{"Type":"volume","Source":"x","Target":"/x"}],"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}`

// pyRunBody is what docker-py 5 sends for containers.run with a volume,
// environment, labels and the host's network.
const pyRunBody = `{"Tty": false, "OpenStdin": false, "StdinOnce": false, "AttachStdin": false, "AttachStdout": false, "AttachStderr": false, "Env": ["A=b"], "Cmd": ["echo", "hi"], "Image": "busybox", "Volumes": {"/v": {}}, "NetworkDisabled": false, "HostConfig": {"NetworkMode": "host", "Binds": ["pyvol:/v:rw"]}, "Labels": {"x": "y"}}`

// FuzzCreateRequest: decoding a create request and translating it into
// the core's Spec never panics, and every refusal is an invalid argument
// (docker's 400), never a fault of berth's.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		cliRunBody,
		pyRunBody,
		`{"Image":"busybox","Cmd":["sh"],"Tty":true,"OpenStdin":true,"StdinOnce":true,"HostConfig":{"ConsoleSize":[24,80],"Init":true,"PidsLimit":-1,"Resources":{}}}`,
		`{"Image":"busybox","Entrypoint":[""],"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/run","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}},{"Type":"bind","Source":"/srv","Target":"/srv","ReadOnly":true,"BindOptions":{"Propagation":"rslave"}}]}}`,
		`{"Image":"busybox","HostConfig":{"Memory":-1,"ShmSize":-5,"NetworkMode":"container:x","Devices":[{"PathOnHost":"/dev/null"}],"Ulimits":[null,{"Name":"nofile","Soft":1,"Hard":2}]}}`,
		`{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"default":null,"host":{"Aliases":["a"]}}}}`,
		`{"Image":"busybox","HostConfig":{"Dns":["8.8.8.8","::1"],"Binds":[":",":::","/a:/b:ro:x"]},"Volumes":{"/a/../b":{},"":{}}}`,
		`{"Image":"busybox"} {"Image":"x"}`,
		`{"Image":"busybox","Bogus":1}`,
		`{"Image":`,
		`null`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/containers/create", bytes.NewReader(body))
		var req container.CreateRequest
		err := decodeBody(r, &req, false)
		if err == nil {
			_, err = specFromCreate(req)
		}
		if err != nil && !errdefs.IsInvalidArgument(err) {
			t.Fatalf("%q: %v (%T), want an invalid argument", body, err, err)
		}
	})
}

// FuzzFilters: docker's filters parameter, as every list and prune reads
// it, is parsed or refused as an invalid argument, never a panic.
func FuzzFilters(f *testing.F) {
	for _, seed := range []string{
		`{"label":{"a=b":true},"dangling":{"true":true}}`,
		`{"name":["web"],"status":["running","exited"]}`,
		`{"all":{"true":true}}`,
		`{"label":{"a":false}}`,
		`{"label":"x"}`,
		`{"colour":["red"]}`,
		`[1,2]`,
		`{`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/volumes", nil)
		q := r.URL.Query()
		q.Set("filters", raw)
		r.URL.RawQuery = q.Encode()
		fl, err := parseFilters(r, "label", "label!", "name", "dangling", "driver", "all", "status")
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("%q: %v, want an invalid argument", raw, err)
			}
			return
		}
		for _, c := range coreFilters(fl) {
			if c == "" {
				t.Fatalf("%q: an empty core filter", raw)
			}
		}
	})
}
