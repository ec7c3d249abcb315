//go:build e2e

package tests

import (
	"strings"
	"testing"
	"time"
)

// TestCompose: Debian's docker-compose (1.29, through docker-py) brings
// up a two-service file on berth's Engine API: its own network, a
// healthcheck that the other service's depends_on waits for
// (condition: service_healthy), restart: always, a published port and
// the services' names; then down removes the containers and the
// network and leaves nothing behind.
func TestCompose(t *testing.T) {
	fresh(t)
	must(t, "berthctl load -q -i /srv/images/busybox-docker.tar")
	must(t, `mkdir -p /tmp/proj && cat > /tmp/proj/docker-compose.yml <<'YML'
version: "2.4"
services:
  db:
    image: busybox
    command: sh -c "sleep 2; touch /tmp/ready; exec sleep 1000"
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 1s
      retries: 30
    restart: always
  web:
    image: busybox
    command: sh -c "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www"
    ports: ["8500:80"]
    depends_on:
      db:
        condition: service_healthy
    restart: always
YML`)
	compose := dockerEnv + "cd /tmp/proj && timeout 120 docker-compose "
	must(t, compose+"up -d")
	// web was created only once db was healthy.
	if got := docker(t, "inspect -f '{{.State.Health.Status}} {{.HostConfig.RestartPolicy.Name}}' proj_db_1"); got != "healthy always" {
		t.Errorf("db: %q", got)
	}
	// The first passing check of db ended before web was created.
	passed := docker(t, `inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End.Format "2006-01-02T15:04:05.999999999Z07:00"}} {{end}}{{end}}' proj_db_1`)
	healthyAt, err1 := time.Parse(time.RFC3339Nano, strings.Fields(passed + " x")[0])
	webCreated, err2 := time.Parse(time.RFC3339Nano, docker(t, "inspect -f '{{.Created}}' proj_web_1"))
	if err1 != nil || err2 != nil || webCreated.Before(healthyAt) {
		t.Errorf("web created at %v, db healthy at %v (%v, %v): depends_on did not wait", webCreated, healthyAt, err1, err2)
	}
	if got := eventually(t, 10*time.Second, "curl -sSf -m 2 http://127.0.0.1:8500/"); got != "up" {
		t.Errorf("web's port: %q", got)
	}
	if got := docker(t, "exec proj_web_1 nslookup db"); !strings.Contains(got, "Address:") || !strings.Contains(got, "Name:") {
		t.Errorf("db by name from web: %q", got)
	}
	// restart: always brings db back after its payload is killed.
	must(t, "kill -9 $("+dockerEnv+"docker inspect -f '{{.State.Pid}}' proj_db_1)")
	eventually(t, 20*time.Second, dockerEnv+"[ \"$(docker inspect -f '{{.RestartCount}} {{.State.Status}}' proj_db_1)\" = '1 running' ]")
	must(t, compose+"down")
	if got := docker(t, "ps -a -q"); got != "" {
		t.Errorf("containers after down: %q", got)
	}
	if got := docker(t, "network ls --format '{{.Name}}'"); got != "bridge\nhost\nnone" {
		t.Errorf("networks after down: %q", got)
	}
	noLeftovers(t)
}
