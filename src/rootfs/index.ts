export { buildRootfs, type RootfsBuildOptions } from './build.js';
export { cpioArchive, initramfs, type CpioEntry } from './cpio.js';
export { defaultKernelDir, findGuestKernel, guestModules, moduleName, type GuestKernel } from './kernel.js';
export { isStaticElf } from './static-elf.js';
