# modern-go.sh - sourced by compgen.sh and devseed.sh (ours): `build_modern NAME TAGS`
# builds NAME/ (next to this file) with snapd 2.68.3's tree and toolchain, as
# ../modern/setup.sh unpacked them (run `make realclient` first), into
# $MODERN_OUT/NAME ($REALCLIENT_MODERN_DIR) when that is missing or older than NAME/main.go.
LOCAL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODERN_OUT="${REALCLIENT_MODERN_DIR:-/tmp/realclient-modern}"

build_modern() { # build_modern NAME TAGS
    local name="$1" tags="$2"
    local root="${MODERN_ROOT:-/tmp/modern-src/root}"
    local goroot="$root/usr/lib/go-1.24"
    [ -x "$goroot/bin/go" ] || { echo "$name.sh: no Go toolchain in $goroot (run make realclient)" >&2; exit 2; }
    if [ ! -x "$MODERN_OUT/$name" ] || [ "$LOCAL/$name/main.go" -nt "$MODERN_OUT/$name" ]; then
        (cd "$LOCAL/$name" && GOROOT="$goroot" GOPATH="$root/usr/share/gocode" GO111MODULE=off GOTOOLCHAIN=local GOFLAGS= \
            GOCACHE="${GOCACHE_MODERN:-$MODERN_OUT/gocache}" timeout 900 "$goroot/bin/go" build -tags "$tags" -o "$MODERN_OUT/$name.tmp" .)
        mv -f "$MODERN_OUT/$name.tmp" "$MODERN_OUT/$name"
    fi
}
