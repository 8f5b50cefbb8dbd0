import type { SandboxDriver } from '../core/index.js';
import { makeBwrapDriver, type BwrapDriverOptions } from './bwrap/index.js';

/** What a driver factory gets from the server: the sandbox settings, and the microvm tier's pools. */
export type DriverContext = BwrapDriverOptions & { microvmPool?: number; microvmEgressPool?: number; microvmAccel?: 'auto' | 'kvm' | 'tcg' };

/** A driver factory; `cleanup` removes what earlier server processes left (e.g. cgroups), `close` what this one made. */
export type DriverFactory = (ctx: DriverContext) => Promise<SandboxDriver & { cleanup?(): Promise<string[]>; close?(): Promise<void> }>;

/**
 * Every sandbox driver by name. A new driver is a folder plus one line here. The default
 * (`bwrap`) is loaded with the server; any other only when a tier names it, so a server at rest
 * keeps it out of memory (docs/performance.md, "Idle cost").
 */
export const drivers: ReadonlyMap<string, DriverFactory> = new Map<string, DriverFactory>([
  ['bwrap', (ctx: DriverContext) => makeBwrapDriver(ctx)],
  ['process', async () => (await import('./process/process-driver.js')).processDriver as SandboxDriver],
  ['gvisor', async (ctx: DriverContext) => (await import('./gvisor/index.js')).makeGvisorDriver(ctx)],
  ['microvm', async ({ microvmPool, microvmEgressPool, microvmAccel, ...ctx }: DriverContext) => (await import('./microvm/index.js')).makeMicrovmDriver({ ...ctx, ...(microvmPool !== undefined && { poolSize: microvmPool }), ...(microvmEgressPool !== undefined && { egressPoolSize: microvmEgressPool }), ...(microvmAccel !== undefined && { accel: microvmAccel }) })],
]);
