#!/bin/bash
# sync-realclient.sh - refresh test/realclient/ (our copy of the real-client
# harness) from the shared one, ../shared/realclient next to the repository
# (override with SHARED_REALCLIENT=DIR). Shows the drift first.
#   CHECK=1  only report: exit 1 if the copy differs, 0 if identical.
# Our copy is the shared harness plus our local patches, test/realclient/local/*.patch
# (applied in name order with `patch -p1` from test/realclient), so a sync never loses
# them and the drift shown is only what changed upstream. test/realclient/README.md and
# test/realclient/local/ are ours and are left alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${SHARED_REALCLIENT:-$ROOT/../shared/realclient}"
DST="$ROOT/test/realclient"
PATCHES="$DST/local"
# modern/: snapd 2.68.3's clients (Debian 13), built by modern/setup.sh
ITEMS=(setup.sh make-fixtures.sh check.sh probe fixturegen daemon modern)

if [ ! -d "$SRC" ]; then
    echo "sync-realclient: no shared harness at $SRC; nothing to do" >&2
    exit 0
fi
SRC="$(cd "$SRC" && pwd)"

# what our copy should be: the shared items with our patches applied, in a scratch dir
WANT="$(mktemp -d /tmp/sync-realclient.XXXXXX)"
trap 'rm -rf "$WANT"' EXIT
for i in "${ITEMS[@]}"; do
    [ -e "$SRC/$i" ] || { echo "sync-realclient: $SRC has no $i" >&2; exit 1; }
    cp -R --preserve=mode "$SRC/$i" "$WANT/$i"
done
chmod -R u+w,go-w "$WANT"
shopt -s nullglob
for p in "$PATCHES"/*.patch; do
    if ! patch -s -p1 -d "$WANT" --no-backup-if-mismatch -r - <"$p" >/dev/null; then
        echo "sync-realclient: local patch ${p#"$ROOT"/} no longer applies to $SRC; update it" >&2
        exit 1
    fi
done
shopt -u nullglob

drift=0
for i in "${ITEMS[@]}"; do
    if [ ! -e "$DST/$i" ]; then
        echo "sync-realclient: new: $i"
        drift=1
    elif ! diff -ru "$DST/$i" "$WANT/$i"; then
        drift=1
    fi
done
# executable bits matter too (diff ignores them)
modes() { (cd "$1" && find "${ITEMS[@]}" -type f \( -perm -u=x -printf '%p x\n' -o -printf '%p -\n' \) 2>/dev/null | LC_ALL=C sort); }
if ! diff <(modes "$DST") <(modes "$WANT") >/dev/null; then
    echo "sync-realclient: executable bits differ:"
    diff <(modes "$DST") <(modes "$WANT") || true
    drift=1
fi

if [ $drift = 0 ]; then
    echo "sync-realclient: test/realclient is up to date with $SRC (plus local patches)"
    exit 0
fi
if [ "${CHECK:-0}" = 1 ]; then
    echo "sync-realclient: test/realclient differs from $SRC plus local patches (run 'make sync-realclient')" >&2
    exit 1
fi

for i in "${ITEMS[@]}"; do
    rm -rf "${DST:?}/$i"
    cp -R --preserve=mode "$WANT/$i" "$DST/$i"
done
echo "sync-realclient: copied ${ITEMS[*]} from $SRC with local patches; review with 'git diff --stat test/realclient'"
