import type { AliasRecord, Change, DeployTarget, FunctionRecord, VersionRecord } from '../core/index.js';
import { effectiveConfig } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { WeightedSplit } from './weighted-split.js';

interface FunctionEntry {
  record: FunctionRecord;
  /** Each version's order (for `latest`) and what runs; the record itself stays in the store. */
  versions: Map<string, { seq: number; target: DeployTarget }>;
  latest: string | undefined;
  aliases: Map<string, { record: AliasRecord; split: WeightedSplit | undefined }>;
}

/**
 * The in-memory view of functions, versions and aliases that routing reads on every call. The
 * store is the truth; its change feed updates this (see catalog-feed.ts), whichever process
 * wrote, so the hot path never touches the store.
 */
export class Catalog {
  private readonly fns = new Map<string, FunctionEntry>();

  /**
   * `runtimes`: the names of the runtimes this server has; a version of another is refused.
   * `onVersion`: told of every version the catalog takes, whoever wrote it (the pre-booted pool
   * fills the runtimes in use).
   */
  constructor(
    private readonly runtimes: ReadonlySet<string>,
    private readonly onVersion?: (target: DeployTarget) => void,
  ) {}

  /** Resolves `name` and an optional `@ref` (version, alias or `latest`) to what runs. */
  resolve(name: string, ref: string | undefined): DeployTarget {
    const fn = this.fns.get(name);
    if (!fn) throw new FerryError('function-not-found', `no function named '${name}'`);
    let version: string | undefined;
    if (ref === undefined || ref === 'latest') {
      version = fn.latest;
      if (!version) throw new FerryError('version-not-found', `function '${name}' has no versions`);
    } else if (fn.versions.has(ref)) {
      version = ref;
    } else {
      const alias = fn.aliases.get(ref);
      if (!alias) throw new FerryError('alias-not-found', `function '${name}' has no version or alias '${ref}'`);
      const t = alias.record.target;
      version = 'version' in t ? t.version : alias.split!.next();
    }
    const v = fn.versions.get(version);
    if (!v) throw new FerryError('version-not-found', `version '${version}' of '${name}' does not exist`);
    return v.target;
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  functionNames(): string[] {
    return [...this.fns.keys()];
  }

  /** The owning group of a function; undefined when there is no such function. */
  owner(name: string): string | undefined {
    return this.fns.get(name)?.record.owner;
  }

  functionsOwnedBy(owner: string): string[] {
    const out: string[] = [];
    for (const [name, fn] of this.fns) if (fn.record.owner === owner) out.push(name);
    return out;
  }

  versionsOf(name: string): DeployTarget[] {
    return [...(this.fns.get(name)?.versions.values() ?? [])].map((v) => v.target);
  }

  targets(): DeployTarget[] {
    const out: DeployTarget[] = [];
    for (const fn of this.fns.values()) for (const v of fn.versions.values()) out.push(v.target);
    return out;
  }

  target(name: string, version: string): DeployTarget | undefined {
    return this.fns.get(name)?.versions.get(version)?.target;
  }

  /** A catalog with the same runtimes and nothing in it: what a whole reload fills. */
  emptyCopy(): Catalog {
    return new Catalog(this.runtimes, this.onVersion);
  }

  /** Takes `other`'s functions, versions and aliases in place of its own, in one step. */
  replaceWith(other: Catalog): void {
    this.fns.clear();
    for (const [name, fn] of other.fns) this.fns.set(name, fn);
  }

  putFunction(record: FunctionRecord): void {
    const fn = this.fns.get(record.name);
    if (fn) fn.record = record;
    else this.fns.set(record.name, { record, versions: new Map(), latest: undefined, aliases: new Map() });
  }

  /**
   * Applies one change of the store's feed. A version or alias of a function the catalog does
   * not hold is skipped: its function was deleted after it (the feed's later change says so).
   */
  apply(change: Change): void {
    if (change.kind === 'function') {
      if (change.record) this.putFunction(change.record);
      else this.removeFunction(change.function);
      return;
    }
    if (!this.fns.has(change.function)) return;
    if (change.kind === 'version') {
      if (change.record) this.putVersion(change.record);
      else this.removeVersion(change.function, change.version);
    } else if (change.record) this.putAlias(change.record);
    else this.removeAlias(change.function, change.alias);
  }

  removeFunction(name: string): void {
    this.fns.delete(name);
  }

  putVersion(record: VersionRecord): DeployTarget {
    const fn = this.fns.get(record.function)!;
    const target = this.targetOf(record);
    fn.versions.set(record.version, { seq: record.seq, target });
    this.recomputeLatest(fn);
    this.onVersion?.(target);
    return target;
  }

  /** What would run for the version, without making it routable. */
  targetOf(record: VersionRecord): DeployTarget {
    const runtime = record.manifest.runtime;
    if (!this.runtimes.has(runtime)) throw new FerryError('invalid-manifest', `unknown runtime '${runtime}'`);
    return {
      function: record.function,
      version: record.version,
      revision: `${record.packageSha.slice(0, 12)}:${record.updatedAt}`,
      config: effectiveConfig(record),
      runtime,
      packageSha: record.packageSha,
    };
  }

  removeVersion(name: string, version: string): void {
    const fn = this.fns.get(name);
    if (!fn) return;
    fn.versions.delete(version);
    this.recomputeLatest(fn);
  }

  putAlias(record: AliasRecord): void {
    const fn = this.fns.get(record.function)!;
    const t = record.target;
    fn.aliases.set(record.alias, { record, split: 'weights' in t ? new WeightedSplit(t.weights) : undefined });
  }

  removeAlias(name: string, alias: string): void {
    this.fns.get(name)?.aliases.delete(alias);
  }

  private recomputeLatest(fn: FunctionEntry): void {
    let best: { seq: number; target: DeployTarget } | undefined;
    for (const v of fn.versions.values()) if (!best || v.seq > best.seq) best = v;
    fn.latest = best?.target.version;
  }
}
