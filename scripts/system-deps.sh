#!/bin/bash
# system-deps.sh PKG... - install the given Debian packages with apt-get, only
# those not installed yet. `apt-get update` runs first when the package lists
# are empty, and once more if the install fails (stale lists). sudo is used
# only when not root. Non-interactive throughout.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 PKG..." >&2
    exit 2
fi

missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: already installed: $*"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "system-deps: missing ${missing[*]} and no apt-get here; install them by hand" >&2
    exit 1
fi

SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive

echo "system-deps: installing ${missing[*]}"
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ]; then
    timeout 600 "${SUDO[@]}" apt-get update -q
fi
if ! timeout 1200 "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    timeout 600 "${SUDO[@]}" apt-get update -q
    timeout 1200 "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
