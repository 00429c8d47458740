#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs to build, test, demo and benchmark.
# --no-install-recommends: wireguard-tools would otherwise pull in a kernel image.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config clang-14 libclang-rt-14-dev clang-format
  libssl-dev libsodium-dev libmnl-dev libexpected-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev libgtest-dev libgmock-dev
  libsqlite3-dev  # tern control's store
  libpq-dev postgresql  # tern control's shared store; its tests start their own server
  # test peers and network tools
  wireguard-go wireguard-tools iperf3 nftables iproute2 iputils-ping iputils-tracepath
  netcat-openbsd tcpdump procps kmod jq coturn
  curl  # the control server's netns test calls its API as agents do
  openssl  # TURN netns tests: a test CA and server certificates, REST credentials by hand
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "tern: these packages are missing: ${missing[*]}" >&2
  echo "tern: run this script as root (sudo $0) to install them" >&2
  exit 1
fi
echo "tern: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
