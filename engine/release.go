package engine

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/berthd/berth/config"
	"github.com/berthd/berth/network"
)

// ReleaseNetworks tears down the network of every container that has one
// (netavark's teardown: veth, address, port forwarding rules, name server
// entries; a network's bridge and rules go with its last container) and
// removes berth's network namespaces, under the roots recorded in
// rootsFile (else the defaults). It reads no configuration, so it works
// when berthd cannot start. The containers must be stopped already: it is
// for the package's removal (berthd --release-networks, from prerm), when
// berthd could not stop them itself. It returns how many it tore down.
func ReleaseNetworks(ctx context.Context, rootsFile string, log *slog.Logger) (int, error) {
	r, found, err := readRoots(rootsFile)
	if err != nil {
		return 0, err
	}
	if !found {
		d := config.Defaults()
		r = roots{DataRoot: d.DataRoot, ExecRoot: d.ExecRoot}
	}
	nets, err := network.Open(network.Options{DataRoot: r.DataRoot, ExecRoot: r.ExecRoot, Log: log})
	if err != nil {
		return 0, fmt.Errorf("networks: %w", err)
	}
	return nets.Reconcile(ctx, func(string, string) bool { return false }), nil
}
