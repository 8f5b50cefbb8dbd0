import type { SandboxDriver } from '../core/index.js';
import { processDriver } from './process/process-driver.js';

/** Every sandbox driver by name. A new driver is a folder plus one line here. */
export const drivers: ReadonlyMap<string, () => SandboxDriver> = new Map<string, () => SandboxDriver>([
  ['process', () => processDriver],
]);
