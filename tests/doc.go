// Package tests holds berth's end-to-end tests (build tag e2e). They boot a
// real systemd in systemd-nspawn, install berth into it (make install into
// an overlay over /usr) and drive it only through systemctl, busctl,
// berthctl and journalctl. Run them with `make e2e` as root.
package tests
