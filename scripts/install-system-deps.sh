#!/usr/bin/env bash
# Installs the system packages Ferry uses, from the distribution, only when missing:
# python3 (the python runtime), g++/make (better-sqlite3 builds from source when no prebuilt binary
# can be fetched), bubblewrap (the sandbox), gcc + libseccomp-dev (the sandbox's native helper
# compiles seccomp filters with libseccomp), slirp4netns, passt + nftables (the egress network
# policy: a user-mode network stack and the filter that keeps the host out), iproute2 and
# util-linux's nsenter (the shared egress router links instances to it; network tests).
# Runs as root, or through sudo.
set -euo pipefail
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v pasta >/dev/null 2>&1 || need+=(passt)
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
[ -x /usr/sbin/nft ] || command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
echo '#include <seccomp.h>' | gcc -E -x c - -o /dev/null >/dev/null 2>&1 || need+=(libseccomp-dev)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

# The user-mode network stacks of the `egress` policy open /dev/net/tun as the unprivileged
# sandbox user (inside their own user namespace); some hosts ship it as 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO chmod 0666 /dev/net/tun
fi
