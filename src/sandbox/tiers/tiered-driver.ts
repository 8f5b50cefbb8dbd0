import { FerryError } from '../../errors/index.js';
import type { SandboxDriver, SandboxProcess, SandboxSettings } from '../../core/index.js';

/** A driver the server built, with what it made to clean up. */
export type BuiltDriver = SandboxDriver & { cleanup?(): Promise<string[]>; close?(): Promise<void> };

/** The server's sandbox: its tiers by name, and the tier of a version that names none. */
export interface TieredDriver extends BuiltDriver {
  /** The tier a version's settings run in (its `tier`, else the default). */
  tierOf(settings: Pick<SandboxSettings, 'tier'>): string;
  /** Every enabled tier, the default first. */
  readonly tiers: readonly string[];
}

/**
 * One driver over the enabled tiers: each spec, view and check goes to the driver of the
 * version's tier (`sandbox.tier`), so the scheduler, the deploy-time check and the pool keep
 * asking one driver. A tier that is not enabled is refused (`tier-unavailable`), never run in
 * another; the pre-booted pool holds sandboxes of the default tier only.
 */
export function tieredDriver(defaultTier: string, enabled: ReadonlyMap<string, BuiltDriver>): TieredDriver {
  const base = enabled.get(defaultTier);
  if (!base) throw new FerryError('internal', `the default sandbox tier '${defaultTier}' is not enabled`);
  const tierOf = (s: Pick<SandboxSettings, 'tier'> | undefined): string => s?.tier ?? defaultTier;
  const driverOf = (s: Pick<SandboxSettings, 'tier'> | undefined): SandboxDriver => {
    const tier = tierOf(s);
    const d = enabled.get(tier);
    if (!d) throw new FerryError('tier-unavailable', `sandbox tier '${tier}' is not enabled on this server (enabled: ${[...enabled.keys()].join(', ')})`);
    return d;
  };
  const pooled = new WeakSet<SandboxProcess>();
  const all = [...enabled.values()];
  return {
    name: base.name,
    // A server isolates only if every tier it offers does.
    isolated: all.every((d) => d.isolated),
    ...(base.instanceUid !== undefined && { instanceUid: base.instanceUid }),
    tiers: [defaultTier, ...[...enabled.keys()].filter((t) => t !== defaultTier)],
    tierOf,
    view: (spec) => driverOf(spec.sandbox).view(spec),
    spawn: (spec) => driverOf(spec.sandbox).spawn(spec),
    validate: async (settings) => {
      await driverOf(settings).validate?.(settings);
    },
    unenforced: () => all.flatMap((d) => d.unenforced().map((u) => (d === base ? u : `${d.name}: ${u}`))),
    ...(base.prepareRunDir && { prepareRunDir: (dir: string) => base.prepareRunDir!(dir) }),
    ...(base.releaseRunDir && { releaseRunDir: (dir: string) => base.releaseRunDir!(dir) }),
    ...(base.poolUnavailable && { poolUnavailable: () => base.poolUnavailable!() }),
    ...(base.prestart && {
      prestart: async (spec) => {
        const proc = await base.prestart!(spec);
        pooled.add(proc);
        return proc;
      },
    }),
    ...(base.handOff && {
      handOff: async (proc, spec) => {
        // A pooled sandbox is of the default tier: a version of another tier starts cold.
        if (!pooled.has(proc) || tierOf(spec.sandbox) !== defaultTier) throw new FerryError('instance-start-failed', `the pooled sandbox is of tier '${defaultTier}', not '${tierOf(spec.sandbox)}'`);
        await base.handOff!(proc, spec);
      },
    }),
    cleanup: async () => (await Promise.all(all.map((d) => d.cleanup?.() ?? Promise.resolve([])))).flat(),
    close: async () => {
      for (const d of all) await d.close?.();
    },
  };
}
