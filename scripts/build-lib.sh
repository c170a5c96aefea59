#!/usr/bin/env bash
# Builds librobust.so with the Swift runtime linked in statically, so it loads on machines
# without a Swift toolchain, exporting only the C API (robust_*, scripts/librobust.map), and
# audit-cli in release mode. Prints the library's path.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product robust -Xswiftc -static-stdlib \
  -Xlinker --version-script="$PWD/scripts/librobust.map" >&2
swift build -c release --product audit-cli >&2
lib="$(swift build -c release --show-bin-path)/librobust.so"
test -f "$lib"
echo "$lib"
