#!/bin/bash
# compgen.sh DIR - build compgen/ (ours) with snapd 2.68.3's tree and toolchain, as
# ../modern/setup.sh unpacked them (run `make realclient` first), into
# $REALCLIENT_MODERN_DIR/compgen when its source is newer, then write the
# component fixtures into DIR (see compgen/main.go).
set -euo pipefail
if [ $# -ne 1 ]; then echo "usage: $0 DIR" >&2; exit 2; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${REALCLIENT_MODERN_DIR:-/tmp/realclient-modern}"
ROOT="${MODERN_ROOT:-/tmp/modern-src/root}"
GOROOT="$ROOT/usr/lib/go-1.24"
[ -x "$GOROOT/bin/go" ] || { echo "compgen.sh: no Go toolchain in $GOROOT (run make realclient)" >&2; exit 2; }
if [ ! -x "$OUT/compgen" ] || [ "$HERE/compgen/main.go" -nt "$OUT/compgen" ]; then
    (cd "$HERE/compgen" && GOROOT="$GOROOT" GOPATH="$ROOT/usr/share/gocode" GO111MODULE=off GOTOOLCHAIN=local GOFLAGS= \
        GOCACHE="${GOCACHE_MODERN:-$OUT/gocache}" timeout 900 "$GOROOT/bin/go" build -tags 'withtestkeys nosecboot' -o "$OUT/compgen.tmp" .)
    mv -f "$OUT/compgen.tmp" "$OUT/compgen"
fi
mkdir -p "$1"
timeout 120 "$OUT/compgen" -out "$1"
