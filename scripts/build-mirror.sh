#!/bin/bash
# build-mirror.sh OUT BUNDLES BASE_URL TRUSTED_ROOTS - what `make build` runs: import every
# bundle (or .snap + .assert file) in BUNDLES and its subdirectories into the store in OUT, then build its tree for
# BASE_URL (remembered by the store, so later builds may leave it out). TRUSTED_ROOTS is a
# space-separated list of root assertion files besides Canonical's. Compile first (`make compile`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="${1:-out}" bundles="${2:-}" base_url="${3:-}" roots="${4:-}"
usage='usage: make build BUNDLES=DIR BASE_URL=URL [TRUSTED_ROOTS="FILE..."] [OUT=out]'
if [ -z "$bundles" ]; then
    echo "cannot build the mirror: no BUNDLES given (the directory of bundles or .snap + .assert files)" >&2
    echo "$usage" >&2
    echo "(to compile the TypeScript only: make compile)" >&2
    exit 2
fi
if [ ! -d "$bundles" ]; then
    echo "cannot build the mirror: BUNDLES $bundles: no such directory" >&2
    exit 2
fi
if [ -z "$base_url" ] && [ ! -f "$out/snapshelf.json" ]; then
    echo "cannot build the mirror: no BASE_URL given and the store in $out has none yet" >&2
    echo "$usage" >&2
    exit 2
fi

cli=(node bin/snapshelf)
args=()
for r in $roots; do args+=(--trusted-root "$r"); done
# a store is created on purpose where this snapshelf has `init`; older ones create it on import
if [ ! -f "$out/snapshelf.json" ] && "${cli[@]}" --help | grep -qE '^  init\b'; then
    "${cli[@]}" init --dir "$out" ${base_url:+--base-url "$base_url"}
fi
# DIR and its subdirectories (an export directory, `snap download` output, a copied tree of them);
# one import, so nothing changes unless everything verifies
# (hidden ones below DIR left out: an export's .cache and .partial)
mapfile -t dirs < <(
    echo "$bundles"
    find "$bundles" -mindepth 1 -type d -name '.*' -prune -o -mindepth 1 -type d -print | LC_ALL=C sort
)
"${cli[@]}" import --dir "$out" "${args[@]}" "${dirs[@]}"
"${cli[@]}" build --dir "$out" ${base_url:+--base-url "$base_url"}
echo "mirror: the store is in $out; serve it with nginx (snapshelf nginx-config --dir $out) or snapshelf serve --dir $out"
