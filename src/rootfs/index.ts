export { buildRootfs, type RootfsBuildOptions } from './build.js';
export { defaultKernelDir, findGuestKernel, guestModules } from './kernel.js';
