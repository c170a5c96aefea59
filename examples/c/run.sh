#!/usr/bin/env bash
# Compiles the C examples against include/robust.h and runs them with librobust.so.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(swift build -c release --show-bin-path)"
out="$(mktemp -d)"
cc -std=c99 -Wall -Wextra -Werror -Iinclude examples/c/version.c -L"$bin" -lrobust -Wl,-rpath,"$bin" -o "$out/version"
"$out/version"
# The library needs no Swift runtime from the toolchain: nothing it links comes from it.
if ldd "$bin/librobust.so" | grep -q "libswift"; then
  echo "librobust.so links the Swift runtime dynamically:"; ldd "$bin/librobust.so"; exit 1
fi
echo "C example: ok"
