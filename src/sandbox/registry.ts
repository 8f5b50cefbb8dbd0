import type { SandboxDriver } from '../core/index.js';
import { processDriver } from './process/process-driver.js';
import { makeBwrapDriver, type BwrapDriverOptions } from './bwrap/index.js';
import { makeGvisorDriver } from './gvisor/index.js';

/** What a driver factory gets from the server. */
export type DriverContext = BwrapDriverOptions;

/** A driver factory; `cleanup` removes what earlier server processes left (e.g. cgroups), `close` what this one made. */
export type DriverFactory = (ctx: DriverContext) => Promise<SandboxDriver & { cleanup?(): Promise<string[]>; close?(): Promise<void> }>;

/** Every sandbox driver by name. A new driver is a folder plus one line here. */
export const drivers: ReadonlyMap<string, DriverFactory> = new Map<string, DriverFactory>([
  ['bwrap', (ctx: DriverContext) => makeBwrapDriver(ctx)],
  ['process', async () => processDriver as SandboxDriver],
  ['gvisor', (ctx: DriverContext) => makeGvisorDriver(ctx)],
]);
