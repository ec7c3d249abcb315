// Command reload measures berthd's Reload over the system bus: the time
// from the call to the reply (the new snapshot in force), against a
// property read on the same connection as the baseline. Run inside the
// bench sandbox by bench/run.sh, after it has configured the runtimes and
// created the container records.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/berthd/berth/atomicfile"
	"github.com/berthd/berth/dbusapi"
	"github.com/godbus/dbus/v5"
)

func main() {
	n := flag.Int("n", 100, "reloads")
	dropIn := flag.String("drop-in", "/etc/berth/berth.toml.d/zz-bench.toml", "file changed between reloads")
	flag.Parse()
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	obj := conn.Object(dbusapi.BusName, dbusapi.ManagerPath)
	if err := os.MkdirAll(filepath.Dir(*dropIn), 0o755); err != nil {
		fail(err)
	}
	var reload, ping []time.Duration
	for i := 0; i < *n; i++ {
		// Each reload changes the digest, so properties change too.
		if err := atomicfile.Write(*dropIn, fmt.Appendf(nil, "idle-timeout = \"%ds\"\n", 600+i%2), 0o644); err != nil {
			fail(err)
		}
		t0 := time.Now()
		var digest string
		if err := obj.Call(dbusapi.ManagerInterface+".Reload", 0, map[string]dbus.Variant{}).Store(&digest); err != nil {
			fail(err)
		}
		reload = append(reload, time.Since(t0))
		t0 = time.Now()
		if _, err := obj.GetProperty(dbusapi.ManagerInterface + ".Version"); err != nil {
			fail(err)
		}
		ping = append(ping, time.Since(t0))
	}
	rm, rp := pct(reload, 50), pct(reload, 99)
	pm := pct(ping, 50)
	fmt.Printf("reload over D-Bus, %d reloads: median %.2f ms, p99 %.2f ms; property read median %.2f ms; ratio (median) %.1f\n",
		*n, ms(rm), ms(rp), ms(pm), float64(rm)/float64(pm))
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reload bench:", err)
	os.Exit(1)
}
