#!/bin/bash
# compgen.sh DIR - build compgen/ (ours) with snapd 2.68.3's tree and toolchain, as
# ../modern/setup.sh unpacked them (run `make realclient` first), into
# $REALCLIENT_MODERN_DIR/compgen when its source is newer, then write the
# component fixtures into DIR (see compgen/main.go).
set -euo pipefail
if [ $# -ne 1 ]; then echo "usage: $0 DIR" >&2; exit 2; fi
. "$(dirname "${BASH_SOURCE[0]}")/modern-go.sh"
build_modern compgen 'withtestkeys nosecboot'
mkdir -p "$1"
timeout 120 "$MODERN_OUT/compgen" -out "$1"
