import { accessSync, constants, existsSync } from 'node:fs';

/**
 * Whether this host's KVM can run an ordinary guest: the microvm tier's QEMU and gVisor's `kvm`
 * platform both need it. /dev/kvm must open read-write, and it must not be PVM (kvm_pvm, the
 * pagetable-based KVM some cloud VMs offer for nesting): PVM runs only PVM-enabled guest kernels,
 * so Debian's kernel hangs at boot under it and gVisor's sentry never starts a task.
 */
export function usableKvm(device = '/dev/kvm', pvmModule = '/sys/module/kvm_pvm'): { ok: true } | { ok: false; why: string } {
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return { ok: false, why: `${device} is missing or not read-writable` };
  }
  if (existsSync(pvmModule)) return { ok: false, why: `this host's ${device} is PVM (kvm_pvm), which runs only PVM-enabled guest kernels` };
  return { ok: true };
}
