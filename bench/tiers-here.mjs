// Which of Ferry's stronger sandbox tiers can run on this host, for the runners that measure them
// (bench/targets/82-ferry-tiers.mjs, bench/warm/rows.mjs): Ferry as root, runsc for gvisor, QEMU
// and the extracted guest kernel for microvm, and whether /dev/kvm makes the microvm tier KVM or
// QEMU's emulator.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const kvm = (() => {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();
export const accel = kvm ? 'KVM' : 'emulated (TCG)';

/** Whether `program` is on the PATH. */
const onPath = (program) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, program)));
const root = process.getuid?.() === 0;
const kernelDir = '/var/cache/ferry/microvm-kernel/boot';
export const canGvisor = root && onPath('runsc');
export const canMicrovm = root && onPath('qemu-system-x86_64') && existsSync(kernelDir) && readdirSync(kernelDir).some((f) => f.startsWith('vmlinuz-'));
