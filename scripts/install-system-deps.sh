#!/usr/bin/env bash
# Installs the system packages Ferry uses, from the distribution, only when missing:
# python3 (the python runtime), g++/make (better-sqlite3 builds from source when no prebuilt binary
# can be fetched), bubblewrap (the sandbox), gcc + libseccomp-dev (the sandbox's native helper
# compiles seccomp filters with libseccomp), slirp4netns, passt + nftables (the egress network
# policy: a user-mode network stack and the filter that keeps the host out), iproute2 and
# util-linux's nsenter (the shared egress router links instances to it; network tests); zip and
# curl (test/tinyfaas.test.ts drives Ferry with tinyFaaS's own scripts, which use them); jq
# (test/shortedfaas.test.ts deploys ShortedFaaS's sample run.json, which runs it); python3-yaml and
# node-semver (test/shortedfaas-host-libraries.test.ts: the host's language libraries);
# protobuf-compiler, protobuf-compiler-grpc, python3-grpcio and python3-protobuf (the gRPC front
# end's test client in Python, its stubs generated from proto/ at test time); libcoap3-bin (its
# coap-client-notls is the second client of the CoAP front end's tests); chromium (test/traffic.test.ts
# makes cross-origin calls from a real browser page); and for
# test/cgroup-v2.test.ts, which boots a small VM whose only cgroup hierarchy is cgroup v2:
# qemu-system-x86, busybox-static (the VM's initramfs) and Debian's kernel (see the end).
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
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v coap-client-notls >/dev/null 2>&1 || need+=(libcoap3-bin)
[ -x /usr/bin/chromium ] || need+=(chromium)
echo '#include <seccomp.h>' | gcc -E -x c - -o /dev/null >/dev/null 2>&1 || need+=(libseccomp-dev)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
[ -x /usr/bin/grpc_python_plugin ] || need+=(protobuf-compiler-grpc)
/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || need+=(python3-grpcio)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
[ -d /usr/share/nodejs/semver ] || need+=(node-semver)
/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1 || need+=(python3-protobuf)
# Image pulls (test/images-registry.test.ts): a real registry (docker-registry), skopeo to push
# to it, htpasswd (apache2-utils) for its logins, openssl for its certificates and token keys.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The cluster store's tests start a real JetStream server; the gvisor tier runs under runsc.
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
command -v runsc >/dev/null 2>&1 || need+=(runsc)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

# The cgroup v2 VM test: qemu without its recommends (no GUI, no extra firmware), and a
# statically linked busybox (it runs in the VM's initramfs, where there is no libc).
# debootstrap: `ferry rootfs build --debian <suite>` makes a microvm root from a Debian minbase.
vm_need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || vm_need+=(qemu-system-x86)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || vm_need+=(busybox-static)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || vm_need+=(debootstrap)
if [ "${#vm_need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  [ "${#need[@]}" -gt 0 ] || $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${vm_need[@]}"
fi

# The user-mode network stacks of the `egress` policy open /dev/net/tun as the unprivileged
# sandbox user (inside their own user namespace); some hosts ship it as 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO chmod 0666 /dev/net/tun
fi

# Debian's generic amd64 kernel into $1, NOT installed (nothing goes to /boot): the .deb that
# linux-image-amd64 depends on is downloaded and only vmlinuz, modules.builtin and the virtio
# (virtio-mmio, virtio-pci, the virtio console, virtio-net with its failover modules, virtio-blk),
# 9p, netfs, fscache and ext4 (with jbd2, mbcache, crc16 and crc32c_generic) modules are extracted.
# linux-image-cloud-amd64 has no 9p, which both VMs below mount their files with.
fetch_debian_kernel() {
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'; }
  pkg="$(kpkg)"
  if [ -z "$pkg" ]; then
    $SUDO apt-get update
    pkg="$(kpkg)"
  fi
  [ -n "$pkg" ] || { echo "install-system-deps: cannot find the package linux-image-amd64 depends on" >&2; exit 1; }
  $SUDO mkdir -p "$(dirname "$1")"
  # As root throughout (sudo where not): the download goes to a root-only temp directory.
  $SUDO sh -euc '
    work="$(mktemp -d "$(dirname "$1")/fetch.XXXXXX")"
    trap "rm -rf \"\$work\"" EXIT
    cd "$work"
    apt-get -q -o APT::Sandbox::User=root download "$2"
    mkdir kernel
    dpkg-deb --fsys-tarfile ./*.deb | tar -x -C kernel --wildcards \
      "./boot/vmlinuz-*" "./lib/modules/*/modules.builtin" "./lib/modules/*/kernel/drivers/virtio/*" \
      "./lib/modules/*/kernel/drivers/char/virtio_console.ko" "./lib/modules/*/kernel/net/9p/*" \
      "./lib/modules/*/kernel/fs/9p/*" "./lib/modules/*/kernel/fs/netfs/*" "./lib/modules/*/kernel/fs/fscache/*" \
      "./lib/modules/*/kernel/drivers/net/virtio_net.ko" "./lib/modules/*/kernel/drivers/net/net_failover.ko" \
      "./lib/modules/*/kernel/net/core/failover.ko" "./lib/modules/*/kernel/drivers/block/virtio_blk.ko" \
      "./lib/modules/*/kernel/fs/ext4/ext4.ko" "./lib/modules/*/kernel/fs/jbd2/jbd2.ko" "./lib/modules/*/kernel/fs/mbcache.ko" \
      "./lib/modules/*/kernel/lib/crc16.ko" "./lib/modules/*/kernel/crypto/crc32c_generic.ko"
    rm -rf "$1"
    mv kernel "$1"
  ' sh "$1" "$pkg"
  echo "install-system-deps: $pkg extracted into $1"
}

# The cgroup v2 VM test's kernel (fetch_debian_kernel), in $FERRY_TEST_VM_CACHE (default
# /var/cache/ferry-test-vm)/kernel. Skipped when that is already there; test/support/vm.ts finds
# it there.
vm_cache="${FERRY_TEST_VM_CACHE:-/var/cache/ferry-test-vm}"
if [ "$(uname -m)" = x86_64 ] && ! ls "$vm_cache"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
  fetch_debian_kernel "$vm_cache/kernel"
fi

# The microvm sandbox tier's guest kernel (fetch_debian_kernel), in $FERRY_MICROVM_KERNEL_DIR
# (default /var/cache/ferry/microvm-kernel), where `ferry rootfs build` takes it from; fetched
# again when an older extraction lacks virtio-net (the microvm `egress` policy's NIC) or
# virtio-blk and ext4 (the guest's root disk).
mvk="${FERRY_MICROVM_KERNEL_DIR:-/var/cache/ferry/microvm-kernel}"
if [ "$(uname -m)" = x86_64 ] && ! { ls "$mvk"/boot/vmlinuz-* && ls "$mvk"/lib/modules/*/kernel/drivers/net/virtio_net.ko && ls "$mvk"/lib/modules/*/kernel/drivers/block/virtio_blk.ko "$mvk"/lib/modules/*/kernel/fs/ext4/ext4.ko "$mvk"/lib/modules/*/kernel/crypto/crc32c_generic.ko; } >/dev/null 2>&1; then
  fetch_debian_kernel "$mvk"
fi
