#!/bin/bash
# package.sh [OUTDIR] - what `make package` runs (compile first): writes to OUTDIR (default pkg/)
#   snapshelf_<version>_<arch>.deb  the compiled code, its production dependencies and a Node
#                                   runtime under /usr/lib/snapshelf: runs with no Node on the host
#   snapshelf-<version>.tgz         an npm package with the production dependencies bundled, for
#                                   `npm install -g --offline ./snapshelf-<version>.tgz` (Node >= 20)
# Offline: everything comes from this checkout (dist/, node_modules/) and the Node running it
# (SNAPSHELF_NODE=PATH picks another Node 20+ binary of the same architecture).
#
# Why a Node binary and not a single executable application: the code is ESM, starts worker
# threads from files (bundle reads, blob copies) and forks serve workers with cluster; Node 20's
# SEA runs one CommonJS script. The runtime is the same size either way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
outdir="$(realpath -m "${1:-pkg}")"

die() { echo "package: $*" >&2; exit 1; }
[ -f dist/src/cli/main.js ] || die "cannot package: no dist/src; run 'make compile' first"
command -v dpkg-deb >/dev/null || die "cannot package: dpkg-deb not found (install dpkg)"

version=$(node -p 'require("./package.json").version')
node_bin=$(realpath "${SNAPSHELF_NODE:-$(command -v node)}")
node_version=$("$node_bin" -p 'process.versions.node')
[ "${node_version%%.*}" -ge 20 ] || die "cannot package: $node_bin is Node $node_version; 20 or newer is needed"
case "$("$node_bin" -p 'process.arch')" in
    x64) arch=amd64 ;;
    arm64) arch=arm64 ;;
    arm) arch=armhf ;;
    ppc64) arch=ppc64el ;;
    s390x) arch=s390x ;;
    riscv64) arch=riscv64 ;;
    *) die "cannot package: no Debian architecture for Node's $("$node_bin" -p 'process.arch')" ;;
esac

mkdir -p "$outdir"
stage="$outdir/.stage"
rm -rf "$stage"
mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT
umask 022

# ---- the application: compiled code, templates, production node_modules -------------------
app="$stage/app"
mkdir -p "$app/dist" "$app/bin"
cp -r dist/src "$app/dist/"
find "$app/dist" -type f ! -name '*.js' -delete
cp -r templates "$app/"
cp bin/snapshelf "$app/bin/"
cp README.md package-lock.json "$app/"
cp -a node_modules "$app/"
node -e '
const fs = require("node:fs");
const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
delete p.scripts;
p.files = ["bin/", "dist/src/", "templates/", "README.md"];
p.bundleDependencies = Object.keys(p.dependencies);
fs.writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
' package.json "$app/package.json"
# only the production dependencies (the lockfile pins them; nothing is fetched)
(cd "$app" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts >/dev/null)
rm -rf "$app/node_modules/.bin" "$app/node_modules/.package-lock.json"
find "$app" -type d -exec chmod 755 {} + && find "$app" -type f -exec chmod 644 {} + && chmod 755 "$app/bin/snapshelf"

# ---- the npm tarball -------------------------------------------------------------------------
tgz="snapshelf-$version.tgz"
rm -f "$outdir/$tgz"
(cd "$app" && npm pack --offline --silent --pack-destination "$outdir" >/dev/null)
[ -f "$outdir/$tgz" ] || die "cannot package: npm pack wrote no $tgz"

# ---- the Debian package ----------------------------------------------------------------------
root="$stage/deb"
lib="$root/usr/lib/snapshelf"
doc="$root/usr/share/doc/snapshelf"
mkdir -p "$lib" "$root/usr/bin" "$doc" "$root/lib/systemd/system" "$root/DEBIAN" "$root/usr/share/lintian/overrides"
cp -r "$app/dist" "$app/templates" "$app/node_modules" "$app/package.json" "$lib/"
install -m 755 "$node_bin" "$lib/node"
# as dh_strip does for executables (the dynamic symbols native addons link against stay)
if command -v strip >/dev/null; then strip --remove-section=.comment --remove-section=.note "$lib/node"; fi
cat >"$root/usr/bin/snapshelf" <<'SH'
#!/bin/sh
# snapshelf, as installed by its Debian package: the Node runtime in /usr/lib/snapshelf runs
# the CLI (no Node is needed on the host). The store is /var/lib/snapshelf unless --dir or
# SNAPSHELF_DIR says otherwise.
SNAPSHELF_DIR="${SNAPSHELF_DIR:-/var/lib/snapshelf}"
export SNAPSHELF_DIR
exec /usr/lib/snapshelf/node /usr/lib/snapshelf/dist/src/cli/main.js "$@"
SH
chmod 755 "$root/usr/bin/snapshelf"
node --input-type=module -e '
const [js, templates, target] = process.argv.slice(1);
const { writePackagedUnits } = await import(js);
await writePackagedUnits(templates, target);
' "$repo/dist/src/deploy/packaged.js" "$repo/templates" "$root/lib/systemd/system"

# ---- documentation -------------------------------------------------------------------------
# Node's license text (MIT, with the licenses of what it embeds) goes beside the runtime: the
# copyright file points at it (lintian wants no full Apache text in copyright itself)
node_license=""
for f in "$(dirname "$node_bin")/../share/doc/nodejs/LICENSE" /usr/share/doc/nodejs/LICENSE; do
    [ -f "$f" ] && { node_license=$f; break; }
done
[ -n "$node_license" ] && install -m 644 "$node_license" "$lib/node.LICENSE"
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: snapshelf"
    echo "Comment: /usr/lib/snapshelf/node is the Node.js $node_version runtime, carried so that"
    echo " snapshelf runs where the distribution's Node is older than 20. The JavaScript modules"
    echo " under /usr/lib/snapshelf/node_modules carry their own LICENSE files."
    echo
    echo "Files: *"
    echo "Copyright: 2025-$(date -u +%Y) the snapshelf developers"
    echo "License: GPL-3"
    echo " On Debian systems, the full text of the GNU General Public License version 3"
    echo " can be found in /usr/share/common-licenses/GPL-3."
    echo
    echo "Files: usr/lib/snapshelf/node"
    echo "Copyright: Node.js contributors. All rights reserved."
    echo "License: Expat"
    if [ -n "$node_license" ]; then
        echo " The license of Node.js and of the libraries it embeds is in"
        echo " /usr/lib/snapshelf/node.LICENSE."
    else
        echo " https://github.com/nodejs/node/blob/v$node_version/LICENSE"
    fi
} >"$doc/copyright"
# a manual page from the CLI's own help
mkdir -p "$root/usr/share/man/man1"
{
    echo ".TH SNAPSHELF 1 \"$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)\" \"snapshelf $version\" \"User Commands\""
    echo ".SH NAME"
    echo "snapshelf \\- offline Snap Store for air-gapped fleets"
    echo ".SH SYNOPSIS"
    echo ".B snapshelf"
    echo "\\fIcommand\\fR [\\fIoptions\\fR]"
    echo ".SH DESCRIPTION"
    echo ".nf"
    node dist/src/cli/main.js --help | sed -e 's/\\/\\e/g' -e 's/^[.\x27]/\\\&&/'
    echo ".fi"
    echo ".PP"
    echo "Every command has \\fB\\-\\-help\\fR with examples."
    echo ".SH ENVIRONMENT"
    echo ".TP"
    echo ".B SNAPSHELF_DIR"
    echo "The store directory when \\fB\\-\\-dir\\fR is not given; /var/lib/snapshelf when unset."
    echo ".SH FILES"
    echo ".TP"
    echo ".I /var/lib/snapshelf"
    echo "The default store, owned by the snapshelf system user."
    echo ".SH SEE ALSO"
    echo "/usr/share/doc/snapshelf/README.Debian.gz"
} | gzip -9n >"$root/usr/share/man/man1/snapshelf.1.gz"
changelog_date=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'snapshelf (%s) unstable; urgency=medium\n\n  * Release %s (Node.js %s runtime inside).\n\n -- %s  %s\n' \
    "$version" "$version" "$node_version" "${DEB_MAINTAINER:-snapshelf developers <snapshelf@users.noreply.github.com>}" \
    "$changelog_date" | gzip -9n >"$doc/changelog.gz"
cat >"$doc/README.Debian" <<'TXT'
snapshelf for Debian
====================

The store is /var/lib/snapshelf (owned by the snapshelf system user). Every snapshelf verb
uses it unless --dir or SNAPSHELF_DIR names another directory:

  sudo -u snapshelf snapshelf init --base-url http://store.internal:8000
  sudo -u snapshelf snapshelf import /media/usb/export/
  sudo -u snapshelf snapshelf build
  sudo systemctl enable --now snapshelf-serve.service snapshelf-reload.path

The units are installed but not enabled. snapshelf-serve.service serves the store on
0.0.0.0:8000; snapshelf-reload.path puts every new build in service. For nginx in front,
`snapshelf install-service --nginx --user snapshelf` writes units to /etc/systemd/system,
which take precedence. Installing, upgrading and removing the package never changes the
store; purging leaves it in place too (remove /var/lib/snapshelf by hand).

import needs unsquashfs (package squashfs-tools).
TXT
gzip -9n "$doc/README.Debian"
# lintian: the runtime is Node's own build (not Debian's nodejs): its embedded libraries and
# non-PIE build are Node's choices
cat >"$root/usr/share/lintian/overrides/snapshelf" <<'TXT'
snapshelf: embedded-library *
snapshelf: hardening-no-pie [usr/lib/snapshelf/node]
# the modules' own command-line scripts (yaml's) are not run: snapshelf imports the modules
snapshelf: script-not-executable [usr/lib/snapshelf/node_modules/*]
TXT

# ---- maintainer scripts --------------------------------------------------------------------
cat >"$root/DEBIAN/postinst" <<'SH'
#!/bin/sh
# Creates the snapshelf system user and the default store directory /var/lib/snapshelf when
# they do not exist. Never changes an existing store (not even its owner).
set -e
if [ "$1" = configure ]; then
    if ! getent group snapshelf >/dev/null; then
        groupadd --system snapshelf
    fi
    if ! getent passwd snapshelf >/dev/null; then
        useradd --system --gid snapshelf --home-dir /var/lib/snapshelf --no-create-home \
            --shell /usr/sbin/nologin --comment "snapshelf offline snap store" snapshelf
    fi
    if [ ! -e /var/lib/snapshelf ]; then
        mkdir -m 0755 /var/lib/snapshelf
        chown snapshelf:snapshelf /var/lib/snapshelf
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        # an upgrade: a running shim restarts on the new code (units are never enabled here)
        if [ -n "$2" ]; then
            deb-systemd-invoke try-restart snapshelf-serve.service >/dev/null || true
        fi
    fi
fi
exit 0
SH
cat >"$root/DEBIAN/prerm" <<'SH'
#!/bin/sh
# Stops the units before the code goes away. Never changes the store.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop snapshelf-serve.service snapshelf-reload.path >/dev/null || true
fi
exit 0
SH
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CTRL
Package: snapshelf
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-snapshelf developers <snapshelf@users.noreply.github.com>}
Installed-Size: $installed_size
Depends: libc6 (>= 2.28), libgcc-s1 (>= 3.4), libstdc++6 (>= 5), passwd
Recommends: squashfs-tools
Suggests: nginx
Section: net
Priority: optional
Description: offline Snap Store for air-gapped fleets
 snapshelf imports snaps exported from the public Snap Store (every blob and
 assertion verified), builds a static, content-addressed tree and serves it to
 snapd devices, alone or behind nginx. The store is one directory, by default
 /var/lib/snapshelf.
 .
 This package carries its own Node.js runtime in /usr/lib/snapshelf.
CTRL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb="snapshelf_${version}_${arch}.deb"
# gzip: read by every dpkg (Debian 12, Ubuntu 22.04 and 24.04) and quick to build; xz saves ~30%
# and takes ten times as long
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" \
    dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$outdir/$deb" >/dev/null
for f in "$deb" "$tgz"; do
    echo "package: wrote $outdir/$f ($(du -h "$outdir/$f" | cut -f1))"
done
