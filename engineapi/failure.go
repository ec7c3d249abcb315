package engineapi

import (
	"context"
	"net"
	"net/http"
	"time"
)

// AnnounceFailure answers, for hold, every request on the activated
// sockets ls with 503 and docker's error body naming why berthd cannot
// start, then closes them. A client whose connection activated berthd
// learns it at once instead of waiting on a connection that no berthd
// accepts, and systemd, finding no connection queued, does not start
// berthd again and again for it.
func AnnounceFailure(ls []net.Listener, cause error, hold time.Duration) {
	if len(ls) == 0 {
		return
	}
	msg := "berthd cannot start: " + errorMessage(cause)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": msg})
		}),
		ReadHeaderTimeout: hold,
	}
	for _, l := range ls {
		go srv.Serve(l)
	}
	time.Sleep(hold)
	ctx, cancel := context.WithTimeout(context.Background(), hold)
	defer cancel()
	srv.Shutdown(ctx)
}
