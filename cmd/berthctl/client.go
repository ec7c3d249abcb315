package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/godbus/dbus/v5"
)

type client struct {
	mu   sync.Mutex // guards connect: verbs on several containers call at once
	conn *dbus.Conn
}

func (c *client) connect() error {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	call := c.callWatched(method, args...)
	if activationFailed(call.Err) {
		call = c.callWatched(method, args...)
	}
	if call.Err != nil {
		return call.Err
	}
	if len(out) > 0 {
		return call.Store(out...)
	}
	return nil
}

// engineSocket is berthd.socket's stream: a connection to it makes
// systemd start berthd (design.md).
const engineSocket = "/run/berth/berth.sock"

// berthdUnit is berthd.service's object in systemd.
const berthdUnit = dbus.ObjectPath("/org/freedesktop/systemd1/unit/berthd_2eservice")

// callWatched makes a manager call. A call made while berthd is not on the
// bus waits in dbus-daemon for berthd's activation, and if berthd dies
// while it starts (a kill, a crash), dbus-daemon keeps the call until its
// service_start_timeout (25 s): systemd does not tell it that the start
// failed, and a call made again only joins the same pending activation.
// So while berthd has no name, berthctl watches berthd.service; when a
// start ends without berthd on the bus, it connects to berthd.socket once,
// which starts berthd again, and the waiting call is then delivered to it.
func (c *client) callWatched(method string, args ...any) *dbus.Call {
	obj := c.conn.Object(contract.BusName, contract.ManagerPath)
	if c.nameOwned() {
		return obj.Call(contract.ManagerInterface+"."+method, 0, args...)
	}
	unit := c.conn.Object("org.freedesktop.systemd1", berthdUnit)
	_, since, _ := unitEnded(unit)
	done := make(chan *dbus.Call, 1)
	go func() {
		done <- obj.CallWithContext(context.Background(), contract.ManagerInterface+"."+method, 0, args...)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case call := <-done:
			return call
		case <-tick.C:
		}
		if c.nameOwned() {
			return <-done // berthd is up: the call is its to answer
		}
		ended, at, err := unitEnded(unit)
		if err != nil || !ended || at <= since {
			continue
		}
		if conn, err := net.DialTimeout("unix", engineSocket, time.Second); err == nil {
			conn.Close()
		}
		return <-done
	}
}

// nameOwned reports whether berthd holds its bus name.
func (c *client) nameOwned() bool {
	var has bool
	err := c.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, contract.BusName).Store(&has)
	return err == nil && has
}

// unitEnded reports whether berthd.service is inactive or failed, and
// when it last became so (CLOCK_MONOTONIC µs), so that a start which
// ended after a given moment can be told from an old end.
func unitEnded(unit dbus.BusObject) (bool, uint64, error) {
	st, err := unit.GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
	if err != nil {
		return false, 0, err
	}
	at, err := unit.GetProperty("org.freedesktop.systemd1.Unit.InactiveEnterTimestampMonotonic")
	if err != nil {
		return false, 0, err
	}
	state, _ := st.Value().(string)
	t, _ := at.Value().(uint64)
	return state == "inactive" || state == "failed", t, nil
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
