#!/usr/bin/env bash
# Installs what robust needs to build, when it is missing: OpenBLAS, libjpeg, libpng and
# pkg-config from Debian's packages (as root, or through sudo). Swift itself must be present.
set -euo pipefail
need=()
for pc in openblas libjpeg libpng16; do
  pkg-config --exists "$pc" 2>/dev/null || need+=("$pc")
done
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(gcc)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing libopenblas-dev libjpeg-dev libpng-dev pkg-config gcc python3 (missing: ${need[*]})" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq libopenblas-dev libjpeg-dev libpng-dev pkg-config gcc python3 >/dev/null
fi
command -v swift >/dev/null || { echo "deps: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
