# snapshelf - build, lint and test. `make help` lists the targets.
#
# The tools come from node_modules/.bin directly (not `npx`): same binaries,
# but never a silent download of a missing tool, and no npm config warnings.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Prerequisites are ordered steps (deps before compile before tests), so never
# run them in parallel even under `make -j`.
.NOTPARALLEL:

BIN := node_modules/.bin
NODE ?= node

# Where setup.sh builds snapd's real clients. /tmp by default: the Go build
# cache under it survives `make clean` and fresh clones, and the binaries are
# not part of the repository. Exported so every child process (setup.sh,
# check.sh, the e2e tests) agrees on it.
REALCLIENT_DIR ?= /tmp/realclient
export REALCLIENT_DIR
# The same clients from snapd 2.68.3 (Debian 13), built by test/realclient/modern/setup.sh
# from .debs fetched with apt-get download (nothing installed); the e2e tests run every
# real-client scenario with both.
REALCLIENT_MODERN_DIR ?= /tmp/realclient-modern
export REALCLIENT_MODERN_DIR

# Debian packages snapshelf itself needs: unsquashfs for `import` (and `demo`).
# The real-client harness installs its own list in test/realclient/setup.sh.
SYSTEM_PKGS ?= squashfs-tools
# Debian packages only the e2e tests drive: nginx in front of the shim, openssl for a
# throwaway CA (HTTPS tests), headless Chromium for the catalogue page, lintian and iproute2
# for the package test (the .deb checked, a loopback-only network namespace), minisign to
# check operator signatures with the standard tool, dosfstools, fusefat, exfatprogs and
# exfat-fuse for the FAT32 and exFAT image tests (FUSE drivers where the kernel has none).
TEST_PKGS ?= nginx openssl chromium lintian iproute2 minisign dosfstools fusefat exfatprogs exfat-fuse

.PHONY: help deps system-deps test-deps compile build package lint format realclient test test-unit test-e2e demo bench clean sync-realclient

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  settings: REALCLIENT_DIR=$(REALCLIENT_DIR)  REALCLIENT_MODERN_DIR=$(REALCLIENT_MODERN_DIR)  SNAPSHELF_TEST_VERBOSE=1  SNAPSHELF_KEEP_WORK=1"

# npm writes node_modules/.package-lock.json on every install, so it is the
# stamp: reinstall when package.json or the lockfile is newer than it.
node_modules/.package-lock.json: package.json $(wildcard package-lock.json)
	@# npm ci refuses a lock that lacks other platforms' optional packages (e.g. biome's
	@# binaries for platforms the registry reachable here did not carry when the lock was
	@# written); npm install still honours the exact pins of package.json and the lock, but
	@# may add entries to it: the committed lock is put back, so a fresh clone's `make test`
	@# leaves the working tree clean.
	@if [ -f package-lock.json ] && npm ci --no-audit --no-fund 2>/dev/null; then :; else \
		cp package-lock.json .package-lock.committed 2>/dev/null || true; \
		npm install --no-audit --no-fund; \
		if [ -f .package-lock.committed ]; then mv .package-lock.committed package-lock.json; fi; fi
	@touch $@

deps: node_modules/.package-lock.json ## install npm dependencies (npm ci) if node_modules is missing or stale

system-deps: ## install the Debian packages snapshelf needs (squashfs-tools), only if missing
	@bash scripts/system-deps.sh $(SYSTEM_PKGS)

test-deps: ## install the Debian packages the e2e tests drive (nginx, openssl, chromium, lintian), only if missing
	@bash scripts/system-deps.sh $(TEST_PKGS)

# tsc runs when a source, the configuration or the dependencies changed since the last compile.
COMPILE_STAMP := dist/.compiled
$(COMPILE_STAMP): node_modules/.package-lock.json tsconfig.json $(shell find src test bench -name '*.ts' 2>/dev/null)
	$(BIN)/tsc -p tsconfig.json
	@touch $@

compile: deps $(COMPILE_STAMP) ## compile TypeScript (src, test, bench) to dist/

# The mirror, as the design card says: import the bundles (or .snap + .assert files) in BUNDLES
# into the store in OUT and build its tree for BASE_URL, ready for nginx or a USB stick.
OUT ?= out
BUNDLES ?=
BASE_URL ?=
TRUSTED_ROOTS ?=
build: compile system-deps ## make build BUNDLES=DIR BASE_URL=URL [TRUSTED_ROOTS="FILE..."] [OUT=out]: import DIR into the store in OUT, build its tree
	@bash scripts/build-mirror.sh "$(OUT)" "$(BUNDLES)" "$(BASE_URL)" "$(TRUSTED_ROOTS)"

package: compile ## pkg/: snapshelf_<version>_<arch>.deb (Node runtime inside) and snapshelf-<version>.tgz (npm, dependencies bundled)
	@bash scripts/package.sh pkg

lint: deps ## biome check (format + lint) over src, test and bench; no unused exports in src
	$(BIN)/biome check src test bench
	$(NODE) scripts/unused-exports.mjs

format: deps ## biome check --write: apply formatting and safe fixes
	$(BIN)/biome check --write src test bench

realclient: ## build snapd 2.57.6's and 2.68.3's real clients into $REALCLIENT_DIR and $REALCLIENT_MODERN_DIR (idempotent; seconds warm)
	bash test/realclient/setup.sh
	REALCLIENT_OLD_DIR="$(REALCLIENT_DIR)" bash test/realclient/modern/setup.sh

test: deps system-deps test-deps compile lint realclient ## everything: compile, lint, real clients, then unit + golden + e2e tests
	bash scripts/run-tests.sh

test-unit: compile ## unit + golden tests only (no real clients needed)
	bash scripts/run-tests.sh unit golden

test-e2e: compile system-deps test-deps realclient ## e2e tests only (real snapd clients against live servers)
	bash scripts/run-tests.sh e2e

demo: deps system-deps compile ## make a demo store from embedded data, offline, and serve it
	bash scripts/demo.sh

# What the bench compares with: wrk (load generator), nginx (static ceiling), openssl (hash limit).
BENCH_PKGS ?= wrk nginx openssl squashfs-tools

bench: compile realclient ## measure against nginx, snapd's fakestore and openssl; prints one table (BENCH_* settings: bench/run.ts)
	@bash scripts/system-deps.sh $(BENCH_PKGS)
	$(NODE) dist/bench/run.js

sync-realclient: ## refresh test/realclient from ../shared/realclient plus test/realclient/local/*.patch (CHECK=1: only report drift)
	bash scripts/sync-realclient.sh

clean: ## remove dist/, pkg/ and .test-work/
	rm -rf dist pkg .test-work
