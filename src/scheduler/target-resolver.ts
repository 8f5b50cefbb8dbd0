import type { DeployTarget, PackageCache, ResolvedTarget, Runtime } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/**
 * The worker-side step between a plain `DeployTarget` and a start: its runtime found by name, its
 * package fetched by sha into this host's cache. Done once per version and revision, not per
 * start, so warm, pooled and scale-from-zero starts pay a map lookup; a failed resolution is not
 * kept (the next start tries again).
 */
export class TargetResolver {
  private readonly resolved = new Map<string, { revision: string; local: ResolvedTarget | Promise<ResolvedTarget> }>();

  constructor(
    private readonly runtimes: ReadonlyMap<string, Runtime>,
    private readonly packages: PackageCache,
  ) {}

  /** The target's runtime and local package: at once when known, else once they are ready. */
  resolve(target: DeployTarget): ResolvedTarget | Promise<ResolvedTarget> {
    const key = keyOf(target);
    const hit = this.resolved.get(key);
    if (hit?.revision === target.revision) return hit.local;
    const runtime = this.runtimes.get(target.runtime);
    if (!runtime) return Promise.reject(new FerryError('instance-start-failed', `this node has no runtime '${target.runtime}'`));
    const entry = { revision: target.revision, local: undefined as unknown as ResolvedTarget | Promise<ResolvedTarget> };
    entry.local = this.packages.localPath(target.packageSha).then(
      (packageDir) => {
        const local = { runtime, packageDir };
        if (this.resolved.get(key) === entry) entry.local = local;
        return local;
      },
      (err: unknown) => {
        if (this.resolved.get(key) === entry) this.resolved.delete(key);
        throw err;
      },
    );
    this.resolved.set(key, entry);
    return entry.local;
  }

  /** Drops what is kept for the function (or one version), once its instances are stopped. */
  forget(fn: string, version?: string): void {
    if (version !== undefined) this.resolved.delete(`${fn}@${version}`);
    else for (const key of this.resolved.keys()) if (key.startsWith(`${fn}@`)) this.resolved.delete(key);
  }
}

function keyOf(t: { function: string; version: string }): string {
  return `${t.function}@${t.version}`;
}
