package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/godbus/dbus/v5"
)

type client struct {
	conn *dbus.Conn
}

func (c *client) connect() error {
	if c.conn != nil {
		return nil
	}
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return fmt.Errorf("cannot reach the system bus (%v); is dbus running?", err)
	}
	c.conn = conn
	return nil
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
	}
}

// call invokes a manager method and stores its results.
func (c *client) call(method string, out []any, args ...any) error {
	if err := c.connect(); err != nil {
		return err
	}
	call := c.conn.Object(contract.BusName, contract.ManagerPath).Call(contract.ManagerInterface+"."+method, 0, args...)
	if activationFailed(call.Err) {
		call = c.conn.Object(contract.BusName, contract.ManagerPath).Call(contract.ManagerInterface+"."+method, 0, args...)
	}
	if call.Err != nil {
		return call.Err
	}
	if len(out) > 0 {
		return call.Store(out...)
	}
	return nil
}

// stream calls a method that returns a descriptor.
func (c *client) stream(method string, args ...any) (*os.File, error) {
	var fd dbus.UnixFD
	if err := c.call(method, []any{&fd}, args...); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), method), nil
}

func (c *client) property(path dbus.ObjectPath, iface, name string) (dbus.Variant, error) {
	if err := c.connect(); err != nil {
		return dbus.Variant{}, err
	}
	v, err := c.conn.Object(contract.BusName, path).GetProperty(iface + "." + name)
	if activationFailed(err) {
		v, err = c.conn.Object(contract.BusName, path).GetProperty(iface + "." + name)
	}
	return v, err
}

// activationFailed reports whether err says that the bus could not start
// berthd for the call (berthd was killed while it started, say): the call
// never reached berthd, and berthctl makes it once more, at once.
func activationFailed(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && contract.ActivationFailed(de.Name)
}

type entry = contract.ContainerEntry

func (c *client) list(all bool) ([]entry, error) {
	var out []entry
	err := c.call("ListContainers", []any{&out}, map[string]dbus.Variant{"all": dbus.MakeVariant(all)})
	return out, err
}
