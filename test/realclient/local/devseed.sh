#!/bin/bash
# devseed.sh VARLIB DEVICE_DIR - build devseed/ (ours) with snapd 2.68.3's tree and
# toolchain, as ../modern/setup.sh unpacked them (run `make realclient` first), into
# $REALCLIENT_MODERN_DIR/devseed when its source is newer, then give the stopped
# daemon's VARLIB (its /var/lib/snapd) the device key and identity of DEVICE_DIR
# (fixturegen's device/; see devseed/main.go).
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 VARLIB DEVICE_DIR" >&2; exit 2; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${REALCLIENT_MODERN_DIR:-/tmp/realclient-modern}"
ROOT="${MODERN_ROOT:-/tmp/modern-src/root}"
GOROOT="$ROOT/usr/lib/go-1.24"
[ -x "$GOROOT/bin/go" ] || { echo "devseed.sh: no Go toolchain in $GOROOT (run make realclient)" >&2; exit 2; }
if [ ! -x "$OUT/devseed" ] || [ "$HERE/devseed/main.go" -nt "$OUT/devseed" ]; then
    (cd "$HERE/devseed" && GOROOT="$GOROOT" GOPATH="$ROOT/usr/share/gocode" GO111MODULE=off GOTOOLCHAIN=local GOFLAGS= \
        GOCACHE="${GOCACHE_MODERN:-$OUT/gocache}" timeout 900 "$GOROOT/bin/go" build -tags nosecboot -o "$OUT/devseed.tmp" .)
    mv -f "$OUT/devseed.tmp" "$OUT/devseed"
fi
timeout 60 "$OUT/devseed" -varlib "$1" -device "$2"
