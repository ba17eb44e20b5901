#!/usr/bin/env bash
# Installs the Debian 12 packages asterisk-api needs to build, test and benchmark.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libboost-system-dev libssl-dev rapidjson-dev
  libspdlog-dev libfmt-dev libsqlite3-dev
  libgtest-dev libgmock-dev
  curl python3 gnuplot-nox
  flite1-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us libspeexdsp-dev
  libspandsp-dev
)
# Node.js and npm run node's ari-client against the simulator (tests/sim/ari_client).
# Debian's packages, and only when there is no node/npm at all: a node from
# elsewhere (NodeSource) brings its own npm and conflicts with Debian's npm.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing packages. Run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
