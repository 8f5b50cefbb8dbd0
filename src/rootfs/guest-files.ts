import { moduleName } from './kernel.js';
import { GUEST_UID } from '../sandbox/microvm/guest-layout.js';

/**
 * The kernel settings the guest boots with, and why: the instance is an unprivileged user of a
 * kernel of its own, but that kernel's surface is still what it could use to become root there
 * (and then attack QEMU's devices), so what it needs not reach is switched off.
 */
const guestSysctls: Array<[string, string]> = [
  // An allocation past the VM's size is not refused up front (ENOMEM, a MemoryError the instance
  // survives) but charged as it is touched: the instance's memory cgroup then ends it (`oom`).
  ['vm.overcommit_memory', '1'],
  ['kernel.yama.ptrace_scope', '3'], // no ptrace at all, PTRACE_TRACEME included
  ['user.max_user_namespaces', '0'], // no user namespaces: no root of its own to mount or unshare with
  // The keyring: a non-root user's quota (1 is the least the kernel takes) is too small for a keyring.
  ['kernel.keys.maxkeys', '1'],
  ['kernel.keys.maxbytes', '1'],
  ['kernel.unprivileged_bpf_disabled', '1'],
  ['kernel.perf_event_paranoid', '3'],
  ['kernel.kptr_restrict', '2'],
  ['kernel.dmesg_restrict', '1'],
];

/**
 * The initramfs's /init (busybox sh, PID 1): load the virtio modules, mount the root (the disk
 * image, /dev/vda) read-only (the package share is mounted by the agent, when it starts the
 * instance), /proc with other users' processes hidden (the
 * instance does not see the agent), a cgroup2 hierarchy, set the sysctls above, and hand over
 * to busybox init in the new root. Any failure powers the guest off: the host sees no HELLO.
 */
export function initScript(modules: string[], busybox = '/usr/bin/busybox'): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "ferry-init: FAILED: $*" > /dev/console; poweroff -f; sleep 30; }
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || fail "proc, sysfs, devtmpfs"
for m in ${modules.map(moduleName).join(' ')}; do insmod /lib/modules/$m.ko || fail "insmod $m"; done
i=0
until mount -t ext4 -o ro,noload /dev/vda /newroot; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "mounting the root (the disk /dev/vda)"; sleep 0.05
done
mount -t tmpfs -o mode=755,size=16m,nosuid,nodev tmpfs /newroot/run || fail "tmpfs on /run"
mount -t proc -o hidepid=invisible,nosuid,nodev,noexec proc /newroot/proc || fail "proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /newroot/sys || fail "sysfs"
mount -t devtmpfs -o nosuid devtmpfs /newroot/dev || fail "devtmpfs"
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup || fail "cgroup2"
${guestSysctls.map(([k, v]) => `sysctl -q -w ${k}=${v} || fail "sysctl ${k}"`).join('\n')}
ip link set lo up
exec switch_root /newroot ${busybox} init
`;
}

/**
 * busybox init's table in the root: run the agent once, then power off (a VM serves one
 * instance). `node`: the command that starts Ferry's Node there; `busybox`: the root's static
 * busybox, which the agent is told of (FERRY_BUSYBOX).
 */
export function inittab(node: string, agent: string, busybox = '/usr/bin/busybox'): string {
  return `::once:${busybox} sh -c 'FERRY_BUSYBOX=${busybox} ${node} ${agent} > /dev/console 2>&1; ${busybox} poweroff -f'\n`;
}

/** /etc/passwd and /etc/group of the guest: root (the agent) and the instance's user. No shadow file. */
export function passwd(): { passwd: string; group: string } {
  return {
    passwd: `root:x:0:0:root:/root:/bin/false\nferry:x:${GUEST_UID}:${GUEST_UID}:ferry:/tmp:/bin/false\n`,
    group: `root:x:0:\nferry:x:${GUEST_UID}:\n`,
  };
}
