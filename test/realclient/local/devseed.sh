#!/bin/bash
# devseed.sh VARLIB DEVICE_DIR - build devseed/ (ours) with snapd 2.68.3's tree and
# toolchain, as ../modern/setup.sh unpacked them (run `make realclient` first), into
# $REALCLIENT_MODERN_DIR/devseed when its source is newer, then give the stopped
# daemon's VARLIB (its /var/lib/snapd) the device key and identity of DEVICE_DIR
# (fixturegen's device/; see devseed/main.go).
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 VARLIB DEVICE_DIR" >&2; exit 2; fi
. "$(dirname "${BASH_SOURCE[0]}")/modern-go.sh"
build_modern devseed nosecboot
timeout 60 "$MODERN_OUT/devseed" -varlib "$1" -device "$2"
