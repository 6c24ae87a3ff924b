#!/bin/bash
# demo.sh - make a demo store from the catalogue embedded in the repository
# (test/fixtures/catalogue: real squashfs snaps and assertions signed by
# snapd's published test root), entirely offline, build it and serve it.
#   DEMO_DIR   store directory (default out/; recreated only if it is a demo store)
#   DEMO_PORT  port (default 8000), DEMO_HOST (default 127.0.0.1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR="${DEMO_DIR:-out}"
HOST="${DEMO_HOST:-127.0.0.1}"
PORT="${DEMO_PORT:-8000}"
CAT=test/fixtures/catalogue
SNAPSHELF=(node bin/snapshelf)

if [ -e "$DIR" ] && [ ! -e "$DIR/.snapshelf-demo" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    echo "demo: $DIR holds a store that is not a demo store; set DEMO_DIR to another directory" >&2
    exit 1
fi
URL="http://$HOST:$PORT"
rm -rf "$DIR"
"${SNAPSHELF[@]}" init --dir "$DIR" --base-url "$URL" 2>/dev/null
touch "$DIR/.snapshelf-demo"

echo "demo: importing the embedded catalogue into $DIR (verified against snapd's test root)"
"${SNAPSHELF[@]}" import --dir "$DIR" --trusted-root "$CAT/asserts/testrootorg.account" \
    --trusted-root "$CAT/asserts/$(node -p "require('./$CAT/manifest.json')['root-key-id']").account-key" "$CAT/asserts" >/dev/null
"${SNAPSHELF[@]}" import --dir "$DIR" "$CAT"/blobs/*.snap
# releases in each channel's history order, as the publisher made them
node -e '
const m = require(process.argv[1]);
const depth = Math.max(...m.snaps.flatMap((s) => s.channels.map((c) => c.history.length)));
for (let i = 0; i < depth; i++)
  for (const s of m.snaps)
    for (const c of s.channels)
      if (c.history[i] !== undefined) console.log([s.name, c.history[i], c.channel, c.arch].join(" "));
' "./$CAT/manifest.json" | while read -r name rev channel arch; do
    "${SNAPSHELF[@]}" release --dir "$DIR" --arch "$arch" "$name" "$rev" "$channel" >/dev/null
done
"${SNAPSHELF[@]}" build --dir "$DIR"

cat <<MSG

demo: the store is in $DIR. Point a device at it (snapd reads this variable):

    sudo systemctl edit snapd      # add: [Service]  Environment=SNAPPY_FORCE_API_URL=$URL/
    sudo systemctl restart snapd
    snap info hello-offline

  or, for one command:  SNAPPY_FORCE_API_URL=$URL/ snap download hello-offline

  The demo snaps are signed by snapd's published *test* root, so only snapd built
  with test keys (make realclient: \$REALCLIENT_DIR/snap-testkeys) verifies them; a
  stock snapd downloads the blob and then refuses its assertions, as it should.
  Real stores hold Canonical-signed assertions exported from the public store.

demo: serving on $URL (Ctrl-C stops)
MSG
exec "${SNAPSHELF[@]}" serve --dir "$DIR" --host "$HOST" --port "$PORT"
