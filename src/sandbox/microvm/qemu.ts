import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { usableKvm } from '../host/kvm.js';
import { PACKAGE_TAG } from './agent/wire.js';

/** How the guest's CPU runs: KVM (hardware virtualisation) or TCG (QEMU's emulator). */
export type Accel = 'kvm' | 'tcg';

/** KVM where this host's KVM can run Debian's kernel (see usableKvm); else TCG, with why. */
export function chooseAccel(): { accel: Accel; why: string } {
  const kvm = usableKvm();
  return kvm.ok ? { accel: 'kvm', why: 'KVM' } : { accel: 'tcg', why: `emulated (TCG): ${kvm.why}` };
}

export function findQemu(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    const p = join(dir, 'qemu-system-x86_64');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The host's CPU clock in kHz (what TCG's TSC counts at), from /proc/cpuinfo; 2 GHz when unknown. */
function hostTscKhz(): number {
  try {
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (mhz) return Math.round(Number(mhz) * 1000);
  } catch {
    /* not Linux */
  }
  return 2_000_000;
}

/** What one VM boots with. */
export interface QemuPlan {
  accel: Accel;
  memoryMb: number;
  /** The kernel: an uncompressed PVH ELF where the root has one, else the bzImage. */
  kernel: string;
  initrd: string;
  /** The disk image that is the guest's / (attached read-only). */
  rootImage: string;
  /** Host directory that is the guest's package dir (read-only). */
  packageShare: string;
  /** Unix socket QEMU listens on for the agent's port. */
  agentSocket: string;
  /** File the guest's console (the agent's own messages) is written to. */
  consoleLog: string;
  /** uid:gid QEMU drops to before the guest runs. */
  runAs: string;
  /**
   * `egress`: a NIC on QEMU's user-mode stack (QEMU then runs in a namespace linked to the egress
   * router), and the share of its driver and addresses (egress.ts). Absent: no NIC at all.
   */
  net?: { share: string; guestNet: string; gateway: string };
}

/** `,` is QEMU's option separator: a path with one is written `,,`. */
const q = (s: string): string => s.replace(/,/g, ',,');

/**
 * QEMU's argv: the `microvm` machine (no PCI, no ACPI tables beyond what it needs, no option
 * ROMs, no legacy serial port), nothing by default, one vCPU, and exactly these virtio-mmio
 * devices: the root's disk image (virtio-blk, read-only), a 9p share of the package (read-only),
 * the serial bus with the agent's port and the console. No NIC unless `net` (see QemuPlan). QEMU drops root (`-runas`) before the
 * guest's first instruction: a guest that escapes into QEMU is an unprivileged host user. (QEMU's
 * own seccomp filter, `-sandbox`, kills QEMU 7.2 when combined with `-runas`: not used.)
 * Under TCG the kernel cannot calibrate its TSC on `microvm` (no PIT, HPET or PM timer to
 * measure against) and hangs: it is given the host's TSC rate instead, and told the TSC is
 * reliable (TCG's follows the host's clock): else the clocksource watchdog, seeing an emulated
 * CPU's uneven ticks, drops it for jiffies, and the guest's clock then loses time.
 * `cryptomgr.notests`: the kernel's crypto self-tests are the slowest part of its boot under TCG
 * (~0.3 s of ~1.3 s to /init, `initcall_debug`); microVM kernels commonly build without them.
 */
export function qemuArgv(p: QemuPlan): string[] {
  return [
    '-M', 'microvm,x-option-roms=off,isa-serial=off,rtc=on',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-accel', p.accel,
    '-cpu', p.accel === 'kvm' ? 'host' : 'max',
    '-m', String(p.memoryMb),
    '-smp', '1',
    '-kernel', p.kernel,
    '-initrd', p.initrd,
    '-append', `console=hvc0 quiet loglevel=3 panic=-1 cgroup_no_v1=all cryptomgr.notests${p.accel === 'tcg' ? ` tsc_early_khz=${hostTscKhz()} tsc=reliable` : ''}`,
    '-drive', `file=${q(p.rootImage)},if=none,id=root,format=raw,readonly=on`,
    '-device', 'virtio-blk-device,drive=root',
    '-fsdev', `local,id=pkg,path=${q(p.packageShare)},security_model=none,readonly=on`,
    '-device', `virtio-9p-device,fsdev=pkg,mount_tag=${PACKAGE_TAG}`,
    '-device', 'virtio-serial-device',
    '-chardev', `socket,id=agent,path=${q(p.agentSocket)},server=on,wait=off`,
    '-device', 'virtserialport,chardev=agent,name=ferry.0',
    '-chardev', `file,id=con,path=${q(p.consoleLog)}`,
    '-device', 'virtconsole,chardev=con',
    ...(p.net ? netArgv(p.net) : []),
    '-runas', p.runAs,
  ];
}

/**
 * The NIC of an `egress` VM: virtio-net on QEMU's user-mode stack (libslirp), IPv4 only (the
 * egress router forwards IPv4 only). Its sockets are QEMU's, made in the namespace QEMU runs in,
 * so every packet the guest sends leaves through the router's filter. Nothing listens on that
 * namespace's loopback (QEMU's gateway address), and no port is forwarded into the guest.
 */
function netArgv(n: NonNullable<QemuPlan['net']>): string[] {
  return [
    '-netdev', `user,id=net,ipv6=off,net=${n.guestNet},host=${n.gateway}`,
    '-device', 'virtio-net-device,netdev=net',
    '-fsdev', `local,id=netcfg,path=${q(n.share)},security_model=none,readonly=on`,
    '-device', 'virtio-9p-device,fsdev=netcfg,mount_tag=ferry.net',
  ];
}
