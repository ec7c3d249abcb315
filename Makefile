# berth — build, install and test.
SHELL := /bin/bash
PREFIX     ?= /usr
DESTDIR    ?=
GO         ?= go
BINDIR      = $(DESTDIR)$(PREFIX)/bin
LIBEXECDIR  = $(DESTDIR)$(PREFIX)/libexec/berth
UNITDIR     = $(DESTDIR)$(PREFIX)/lib/systemd/system
DBUSDIR     = $(DESTDIR)$(PREFIX)/share/dbus-1
# The version is version/VERSION's; VERSION=V on the command line builds
# another (make deb VERSION=0.1.1 for an upgrade test, say).
VERSION    ?= $(shell cat $(CURDIR)/version/VERSION)
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X github.com/berthd/berth/version.Override=$(VERSION)"
STAGE      ?= $(CURDIR)/tests/.cache/stage
APT_PKGS    = systemd-container runc busybox-static dbus curl util-linux docker-registry tini python3-docker netavark aardvark-dns iptables iproute2 docker-compose
# For make deb and the package test.
DEB_APT_PKGS = debhelper dpkg-dev lintian debootstrap
# Only for make bench (the dockerd baseline), never for the tests.
BENCH_APT_PKGS = docker.io podman

.PHONY: all build install test e2e check demo deps bench-deps deb-deps deb package-test bench clean gen man

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/berthd ./cmd/berthd
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/berthctl ./cmd/berthctl
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/berth-monitor ./cmd/berth-monitor

# Files generated from the code, so they never drift from it (the package
# ships them): man pages of berthctl (one per verb, cobra/doc) from the
# same definitions as --help, berthd.8 from berthd's flags, berth.toml.5
# and the commented conffile berth.toml from the configuration schema, and
# berthctl's bash, zsh and fish completion. The generators are built with
# -tags man, so the installed binaries do not carry them. Offline: only the
# module cache is needed. The pages name VERSION (make gen VERSION=V) and
# are dated SOURCE_DATE_EPOCH when it is set.
GENDIR ?= $(CURDIR)/build/gen
GENFLAGS = -tags man -ldflags "-X github.com/berthd/berth/version.Override=$(VERSION)"
gen:
	rm -rf $(GENDIR)
	$(GO) run $(GENFLAGS) ./cmd/berthctl generate $(GENDIR)
	$(GO) run $(GENFLAGS) ./cmd/berthd generate $(GENDIR)

man: gen

install: build
	install -D -m 0755 bin/berthd $(BINDIR)/berthd
	install -D -m 0755 bin/berthctl $(BINDIR)/berthctl
	install -D -m 0755 bin/berth-monitor $(LIBEXECDIR)/berth-monitor
	install -D -m 0644 units/berthd.socket $(UNITDIR)/berthd.socket
	install -D -m 0644 units/berthd.service $(UNITDIR)/berthd.service
	install -D -m 0644 units/berth.slice $(UNITDIR)/berth.slice
	install -D -m 0644 units/berth-restore.service $(UNITDIR)/berth-restore.service
	ln -sf berthd.service $(UNITDIR)/dbus-io.berth.Engine1.service
	install -D -m 0644 units/io.berth.Engine1.conf $(DBUSDIR)/system.d/io.berth.Engine1.conf
	install -D -m 0644 units/io.berth.Engine1.service $(DBUSDIR)/system-services/io.berth.Engine1.service
	install -D -m 0644 units/tmpfiles.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/berth.conf
	install -D -m 0644 units/sysusers.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/berth.conf

# Packages the e2e tests, the demo and the benchmarks need (Debian);
# bench-deps adds what only the benchmarks' baselines need.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

deb-deps:
	@$(MAKE) --no-print-directory deps APT_PKGS="$(DEB_APT_PKGS)"

bench-deps:
	@$(MAKE) --no-print-directory deps APT_PKGS="$(BENCH_APT_PKGS)"

# The Debian package, built with debhelper from a copy of the tree (the
# tracked and untracked-but-not-ignored files; outside git, all but build
# outputs) into build/deb, then checked
# with lintian (errors and warnings fail, except the overrides in
# packaging/deb/debian/berth.lintian-overrides). VERSION=V builds another
# version, with a changelog entry of its own.
DEB_DIR ?= $(CURDIR)/build/deb
deb: deb-deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -co --exclude-standard -z | tar --null -T - -cf -; \
	else \
		tar --exclude=./build --exclude=./bin --exclude=./tests/.cache -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src
	rm -rf $(DEB_DIR)/src/debian && cp -r packaging/deb/debian $(DEB_DIR)/src/debian
	./packaging/deb/changelog-entry $(VERSION) $(DEB_DIR)/src/debian/changelog
	cd $(DEB_DIR)/src && GOMODCACHE=$$($(GO) env GOMODCACHE) GOCACHE=$$($(GO) env GOCACHE) GOTOOLCHAIN=local \
		GOFLAGS=-mod=readonly dpkg-buildpackage -b --no-sign
	lintian --fail-on error,warning --info $(DEB_DIR)/berth_$(VERSION)_amd64.changes
	@echo $(DEB_DIR)/berth_$(VERSION)_amd64.deb

# The package test: builds the package at VERSION and again one version
# above it, then installs, upgrades, removes and purges them in a booted
# Debian 12 (tests/debpkg; its debootstrap root is cached in
# /var/cache/berth-tests).
DEB_NEW ?= $(VERSION)+1
package-test: deb-deps
	$(MAKE) deb DEB_DIR=$(CURDIR)/build/debtest/old
	$(MAKE) deb DEB_DIR=$(CURDIR)/build/debtest/new VERSION=$(DEB_NEW)
	mkdir -p build/debtest/debs && cp build/debtest/old/*.deb build/debtest/new/*.deb build/debtest/debs/
	BERTH_DEBS=$(CURDIR)/build/debtest/debs BERTH_DEB_OLD=$(VERSION) BERTH_DEB_NEW=$(DEB_NEW) \
		$(GO) test -count=1 -tags e2e -timeout 15m -v ./tests/debpkg/

test:
	$(GO) test -count=1 ./...

# End-to-end tests: boots a throwaway systemd (nspawn) over the host's root
# with berth installed into an overlay on /usr; needs root. RUN=REGEXP runs
# only the matching tests.
e2e: deps
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE)
	BERTH_STAGE=$(STAGE) $(GO) test -count=1 -tags e2e -timeout 25m -v $(if $(RUN),-run '$(RUN)') ./tests/ 2>&1 | tee tests/.cache/e2e.log | grep -aE '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' ; \
	exit $${PIPESTATUS[0]}

check: test e2e package-test

demo: deps
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE)
	BERTH_STAGE=$(STAGE) ./tests/demo.sh

bench: deps bench-deps
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE)
	BERTH_STAGE=$(STAGE) ./bench/run.sh

clean:
	rm -rf bin build tests/.cache
