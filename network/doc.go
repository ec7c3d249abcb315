// Package network gives containers docker's networking: a default
// "bridge" network, user-defined bridge networks whose containers resolve
// each other by name, and published ports.
//
// The plumbing is podman's network stack, Debian's netavark and
// aardvark-dns: netavark setup and teardown create and remove the
// Linux bridge, the veth pair, the addresses, the iptables rules
// (masquerade, forwarding, port forwarding from the host's addresses and
// 127.0.0.1) and the aardvark-dns entries of one container; netavark
// starts aardvark-dns as a transient systemd scope (run-*.scope), never
// as a child of berthd. berth keeps what netavark does not: the
// networks' records (data-root/networks/ID/network.json), the address
// management (an address is taken while an attachment holds it), each
// container's network namespace (bound at /run/netns/berth-ID, as
// iproute2's named namespaces) and its attachment record
// (exec-root/networks/attachments/ID.json), written before anything is
// set up and removed after everything is torn down. Nothing of it needs
// berthd while the container runs; berthd tears it down when the run
// ends (on the monitor's exit notice, or at the next activation after a
// crash: Reconcile).
package network
