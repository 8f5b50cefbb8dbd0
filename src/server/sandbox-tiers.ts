import { drivers, type DriverContext } from '../sandbox/registry.js';
import { tieredDriver, type BuiltDriver, type TieredDriver } from '../sandbox/tiers/tiered-driver.js';

/**
 * The server's sandbox: the `--driver` (the default tier) and each of `--sandbox-tiers`, every
 * one built (a tier that cannot run on this host stops the start, naming the fix), behind one
 * driver that sends each version to its tier.
 */
export async function buildSandbox(defaultTier: string, extraTiers: readonly string[], ctx: DriverContext): Promise<TieredDriver> {
  const enabled = new Map<string, BuiltDriver>();
  for (const name of [defaultTier, ...extraTiers]) {
    if (enabled.has(name)) continue;
    const make = drivers.get(name);
    if (!make) throw new Error(`unknown sandbox driver '${name}' (known: ${[...drivers.keys()].join(', ')})`);
    try {
      enabled.set(name, await make(ctx));
    } catch (err) {
      for (const d of enabled.values()) await d.close?.().catch(() => {});
      throw err;
    }
  }
  return tieredDriver(defaultTier, enabled);
}
