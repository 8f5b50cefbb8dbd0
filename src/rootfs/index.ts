export { buildRootfs, type RootfsBuildOptions } from './build.js';
export { buildImageRootfs, type ImageRootfsOptions } from './from-image.js';
export { buildDebianRootfs, debootstrapArgv, trimDebianTree, DEFAULT_DEBIAN_MIRROR, type DebianRootfsOptions } from './debian.js';
export { addFerryFiles, FOREIGN_BUSYBOX } from './foreign-root.js';
export { cpioArchive, initramfs, type CpioEntry } from './cpio.js';
export { defaultKernelDir, findGuestKernel, guestModules, moduleName, uncompressedKernel, type GuestKernel } from './kernel.js';
export { isStaticElf } from './static-elf.js';
