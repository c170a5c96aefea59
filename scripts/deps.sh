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
command -v make >/dev/null || need+=(make)
command -v valgrind >/dev/null || need+=(valgrind)
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  pkgs="libopenblas-dev libjpeg-dev libpng-dev pkg-config gcc make python3 python3-venv valgrind"
  echo "deps: installing $pkgs (missing: ${need[*]})" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq $pkgs >/dev/null
fi
command -v swift >/dev/null || { echo "deps: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
