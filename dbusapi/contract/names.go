package contract

import "github.com/godbus/dbus/v5"

// Names on the bus.
const (
	BusName            = "io.berth.Engine1"
	ManagerPath        = dbus.ObjectPath("/io/berth/Engine1")
	ManagerInterface   = "io.berth.Engine1.Manager"
	ContainerInterface = "io.berth.Engine1.Container"
	ImageInterface     = "io.berth.Engine1.Image"
	VolumeInterface    = "io.berth.Engine1.Volume"
	NetworkInterface   = "io.berth.Engine1.Network"
)
