#!/bin/bash
# sync-realclient.sh - refresh test/realclient/ (our copy of the real-client
# harness) from the shared one, ../shared/realclient next to the repository
# (override with SHARED_REALCLIENT=DIR). Shows the drift first.
#   CHECK=1  only report: exit 1 if the copy differs, 0 if identical.
# test/realclient/README.md is ours and is left alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${SHARED_REALCLIENT:-$ROOT/../shared/realclient}"
DST="$ROOT/test/realclient"
ITEMS=(setup.sh make-fixtures.sh check.sh probe fixturegen daemon)

if [ ! -d "$SRC" ]; then
    echo "sync-realclient: no shared harness at $SRC; nothing to do" >&2
    exit 0
fi
SRC="$(cd "$SRC" && pwd)"

drift=0
for i in "${ITEMS[@]}"; do
    if [ ! -e "$DST/$i" ]; then
        echo "sync-realclient: new: $i"
        drift=1
    elif ! diff -ru "$DST/$i" "$SRC/$i"; then
        drift=1
    fi
done
# executable bits matter too (diff ignores them)
modes() { (cd "$1" && find "${ITEMS[@]}" -type f \( -perm -u=x -printf '%p x\n' -o -printf '%p -\n' \) 2>/dev/null | LC_ALL=C sort); }
if ! diff <(modes "$DST") <(modes "$SRC") >/dev/null; then
    echo "sync-realclient: executable bits differ:"
    diff <(modes "$DST") <(modes "$SRC") || true
    drift=1
fi

if [ $drift = 0 ]; then
    echo "sync-realclient: test/realclient is up to date with $SRC"
    exit 0
fi
if [ "${CHECK:-0}" = 1 ]; then
    echo "sync-realclient: test/realclient differs from $SRC (run 'make sync-realclient')" >&2
    exit 1
fi

for i in "${ITEMS[@]}"; do
    rm -rf "${DST:?}/$i"
    cp -R --preserve=mode "$SRC/$i" "$DST/$i"
done
# the shared copy is read-only; ours is a normal working-tree file
chmod -R u+w,go-w "$DST"
echo "sync-realclient: copied ${ITEMS[*]} from $SRC; review with 'git diff --stat test/realclient'"
