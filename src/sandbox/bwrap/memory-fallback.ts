import type { Limits, RuntimeName } from '../../core/index.js';
import type { InstanceLimits } from './bwrap-driver.js';
import type { CgroupHost } from './cgroups.js';

/**
 * What bounds an instance's memory where no memory cgroup is writable. RLIMIT_AS (address
 * space, per process) is the only other bound the kernel offers, and V8 cannot live with a small
 * one: Node 20 reserves ~720 MB of address space at start and aborts ("Fatal process OOM ...
 * CodeRange") below that, and later whenever a reservation fails. So:
 *
 * - `node`: no RLIMIT_AS; its cold start carries --max-old-space-size (3/4 of memoryMb), which
 *   bounds the V8 heap only. Pooled node sandboxes start without that flag, but the pool needs a
 *   memory cgroup and is off wherever this fallback applies.
 * - `python`, `exec`, `http` (and a spec that names no runtime): RLIMIT_AS of 4 x memoryMb on
 *   every process of the instance. The `exec` shim and the `http` relay are Node programs, so
 *   these need memoryMb >= 200 (800 MB) to start under the fallback.
 */
export function fallbackRlimits(runtime: RuntimeName | undefined, memoryMb: number): string[] {
  if (runtime === 'node') return [];
  return [`as=${memoryMb * 4 * 1024 * 1024}`];
}

/** The line the server logs at start (and `ferry doctor` shows) when the fallback applies. */
export const memoryFallbackNotice =
  'memory (no writable memory cgroup): python, exec and http instances get RLIMIT_AS of 4 x memoryMb on each process instead; ' +
  'node instances get no RLIMIT_AS (V8 aborts under it), only --max-old-space-size (3/4 of memoryMb, the V8 heap alone); ' +
  'the pre-booted pool is off, so every node instance starts with that flag';

/**
 * The instance's cgroups, and where memory has no cgroup the rlimits that stand in for it.
 * Fails closed (from `create`) for cpu and pids.
 */
export async function instanceLimits(cgroups: CgroupHost, instanceId: string, l: Pick<Limits, 'memoryMb' | 'cpu' | 'pids'>, runtime: RuntimeName | undefined): Promise<InstanceLimits> {
  const cg = await cgroups.create(instanceId, { memoryMb: l.memoryMb, cpu: l.cpu, pids: l.pids }, { allowFallback: true });
  const rlimits = cg.unenforced.includes('memory') ? fallbackRlimits(runtime, l.memoryMb) : [];
  return { dirs: cg.dirs, rlimits, oomKilled: () => cg.oomKilled(), remove: () => cg.remove(), update: (next) => cg.update(next), memoryBytes: () => cg.memoryBytes() };
}
