#!/usr/bin/env bash
# Installs the Debian packages the build, the panel at run time and the tests
# need, if missing.
# Usage: scripts/install-deps.sh [build|run|test|bench]
#   build: compile; run: build + what the panel drives at run time (`make run`);
#   test: run + the test tools and peers; bench: run + wrk and perf (`make bench`).
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git
  libmicrohttpd-dev libjansson-dev libcrypt-dev libsqlite3-dev
  libyaml-dev libsystemd-dev libcurl4-gnutls-dev libgnutls28-dev libarchive-dev zlib1g-dev
  libusb-1.0-0-dev libqrencode-dev)
# What the panel runs while it manages the machine: nginx (sites), git (deploys),
# python3-venv/pip (python apps), node/npm (node apps), ufw (firewall), openssl,
# passwd (useradd/userdel/chpasswd: system users, per-site users), systemd (units).
run_pkgs=(nginx git python3 python3-venv python3-pip nodejs npm ufw openssl passwd
  procps ca-certificates libusb-1.0-0)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-requests clang-format nginx openssl
  chromium nodejs npm
  ufw iptables nftables iproute2 util-linux passwd procps
  systemd-container systemd-journal-remote python3-venv pebble
  clang libclang-rt-14-dev
  pdns-server pdns-backend-sqlite3 bind9-dnsutils
  umockdev libumockdev-dev python3-websocket golang-go
  testssl.sh)
bench_pkgs=(wrk linux-perf util-linux nginx python3)
# (gixy, the nginx analyser of issue 11, is not packaged for Debian 12: its
# test skips when the command is absent)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  run) want+=("${run_pkgs[@]}") ;;
  test) want+=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want+=("${run_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # node/npm may come from elsewhere than Debian (a newer Node.js): accept the commands
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
# Installing nginx must not start it on port 80 of this machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
