/**
 * A stand-in for a server that runs one microVM and is then killed: boots a VM from the root at
 * argv[2] into the state dir argv[3], prints `qemu <pid>` once the agent said HELLO, and waits
 * for a signal. Run by test/microvm-host-left.test.ts.
 */
import { MicroVm } from '../../src/sandbox/microvm/vm.js';
import { chooseAccel, findQemu } from '../../src/sandbox/microvm/qemu.js';

const [rootfsDir, stateDir] = process.argv.slice(2);
const vm = await MicroVm.boot({ qemu: findQemu()!, accel: chooseAccel().accel, rootfsDir: rootfsDir!, stateDir: stateDir!, memoryMb: 256, uid: 2_000_101, bootTimeoutMs: 240_000 });
process.stdout.write(`qemu ${vm.qemu.pid}\n`);
setInterval(() => {}, 60_000);
