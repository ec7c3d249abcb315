package dbusapi

import (
	"time"

	"github.com/berthd/berth/dbusapi/contract"
	"github.com/godbus/dbus/v5"
)

// AnnounceFailure takes io.berth.Engine1 for a moment and answers every
// method call with why berthd cannot start. A client whose call activated
// berthd learns it at once; otherwise dbus-daemon, which systemd does not
// tell of a failed start, would answer only after its 25 s activation
// timeout. Nothing happens if the bus is unreachable or the name taken.
func AnnounceFailure(cause error, hold time.Duration) {
	reason := cause.Error()
	if de := contract.ToDBus(cause); len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok {
			reason = s // without the error class suffix
		}
	}
	conn, err := dbus.ConnectSystemBus(dbus.WithHandler(failing{reason}))
	if err != nil {
		return
	}
	defer conn.Close()
	reply, err := conn.RequestName(contract.BusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		return
	}
	time.Sleep(hold)
	conn.ReleaseName(contract.BusName)
}

// failing answers any call on any object with the reason.
type failing struct{ reason string }

func (f failing) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) { return f, true }
func (f failing) LookupInterface(string) (dbus.Interface, bool)          { return f, true }
func (f failing) LookupMethod(string) (dbus.Method, bool)                { return f, true }

// DecodeArguments ignores the arguments, whatever the method.
func (f failing) DecodeArguments(*dbus.Conn, string, *dbus.Message, []any) ([]any, error) {
	return nil, nil
}

func (f failing) Call(...any) ([]any, error) {
	return nil, dbus.NewError(contract.ErrUnavailable, []any{"berthd cannot start: " + f.reason})
}
func (f failing) NumArguments() int     { return 0 }
func (f failing) NumReturns() int       { return 0 }
func (f failing) ArgumentValue(int) any { return nil }
func (f failing) ReturnValue(int) any   { return nil }
