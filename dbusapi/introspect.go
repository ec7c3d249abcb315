package dbusapi

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

// xmlContract is introspect.xml, parsed once.
var xmlContract = func() introspect.Node {
	var n introspect.Node
	if err := xml.Unmarshal([]byte(introspectXML), &n); err != nil {
		panic(fmt.Sprintf("dbusapi: introspect.xml: %v", err))
	}
	return n
}()

func contractInterface(name string) introspect.Interface {
	for _, i := range xmlContract.Interfaces {
		if i.Name == name {
			return i
		}
	}
	panic("dbusapi: introspect.xml has no interface " + name)
}

// introspectable serves introspection for one object; children are listed
// at call time so that containers come and go.
type introspectable struct {
	iface    string
	children func() []string
}

func (i introspectable) Introspect() (string, *dbus.Error) {
	n := introspect.Node{Interfaces: []introspect.Interface{introspect.IntrospectData, prop.IntrospectData,
		{Name: "org.freedesktop.DBus.Peer", Methods: []introspect.Method{{Name: "Ping"}, {Name: "GetMachineId", Args: []introspect.Arg{{Name: "machine_uuid", Type: "s", Direction: "out"}}}}}}}
	if i.iface != "" {
		n.Interfaces = append(n.Interfaces, contractInterface(i.iface))
	}
	if i.children != nil {
		for _, c := range i.children() {
			n.Children = append(n.Children, introspect.Node{Name: c})
		}
	}
	b, err := xml.MarshalIndent(n, "", " ")
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	return strings.TrimSpace(introspect.IntrospectDeclarationString) + "\n" + string(b), nil
}

func introspectType(v any) string { return dbus.SignatureOf(v).String() }
