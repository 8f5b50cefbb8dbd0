#!/usr/bin/env bash
# Installs the system packages Ferry uses, from the distribution, only when missing:
# python3 (the python runtime), g++/make (better-sqlite3 builds from source when no prebuilt binary
# can be fetched). Runs as root, or through sudo.
set -euo pipefail
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
