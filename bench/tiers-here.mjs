// Which of Ferry's stronger sandbox tiers can run on this host, for the runners that measure them
// (bench/targets/82-ferry-tiers.mjs, bench/warm/rows.mjs): Ferry as root, runsc for gvisor, QEMU
// and the extracted guest kernel for microvm, and whether this host's KVM makes the microvm tier KVM or
// QEMU's emulator.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { usableKvm } from '../dist/src/sandbox/host/kvm.js';

// The same test the server makes (a PVM /dev/kvm runs no ordinary guest).
export const kvm = usableKvm().ok;
export const accel = kvm ? 'KVM' : 'emulated (TCG)';

/** Whether `program` is on the PATH. */
const onPath = (program) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, program)));
const root = process.getuid?.() === 0;
const kernelDir = '/var/cache/ferry/microvm-kernel/boot';
export const canGvisor = root && onPath('runsc');
export const canMicrovm = root && onPath('qemu-system-x86_64') && existsSync(kernelDir) && readdirSync(kernelDir).some((f) => f.startsWith('vmlinuz-'));
