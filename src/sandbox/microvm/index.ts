export { makeMicrovmDriver, GUEST_OVERHEAD_MB, type MicrovmDriverOptions } from './microvm-driver.js';
export { chooseAccel } from './qemu.js';
export { guestPaths, GUEST_UID, readRootfs, staleFerryFiles, rootfsDirOf, rootfsFiles, type RootfsManifest } from './guest-layout.js';
