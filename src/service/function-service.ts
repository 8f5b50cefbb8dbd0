import type { Readable } from 'node:stream';
import {
  assertName,
  autoVersionName,
  effectiveConfig,
  validateOverride,
  splitRemovals,
  applyOverride,
  type AliasRecord,
  type BuildContext,
  type DeployTarget,
  type FunctionRecord,
  type InstancePool,
  type Manifest,
  type PackageCache,
  type PackageStore,
  type Runtime,
  type SandboxSettings,
  type Store,
  type VersionRecord,
} from '../core/index.js';
import { FerryError } from '../errors/index.js';
// Not the images index: it loads the whole importer, which a deploy loads only when it needs it.
import { imageArchiveFormat } from '../images/archive-media-types.js';
import type { ImageImports } from '../images/lazy-importer.js';
import type { RegistryLogin } from '../images/registry-credentials.js';
import type { Logger } from '../observe/index.js';
import { Catalog } from './catalog.js';
import { CatalogFeed } from './catalog-feed.js';
import { KeyedMutex } from './keyed-mutex.js';
import { retryOnConflict } from './compare-and-set.js';
import { TenancyPolicy, type Quotas } from './tenancy-policy.js';
import { onFunction, type Principal } from '../auth/index.js';
import type { VersionCheckPolicy } from './version-check.js';
import { prepareVersionPackage } from './version-package.js';
import { aliasUses, parseAliasTarget } from './alias-target.js';

/** How `createVersion` goes about it, for callers with their own rules (the compat APIs). */
export interface CreateHow {
  /**
   * Finds (or makes) the package root in the unpacked, checked tree, instead of looking for
   * `ferry.json` (which it may write); runs before the manifest is read. Throws to refuse.
   */
  prepare?(staging: string): Promise<string>;
  /** Start the version's instances before it becomes `latest`, and fail if none can start. */
  serveFirst?: boolean;
  /** false: skip the deploy-time check (`?check=false`); the version is stored unchecked. */
  check?: boolean;
  /** Each line of the build log as it is written (the upload's progress). */
  progress?(line: string): void;
  /** An image archive upload: the deployer's `ferry.json`-shaped JSON (absent: defaults). */
  imageManifest?: unknown;
  /**
   * A registry image: `imageManifest` names it in `image.ref`, the body is unused, and this
   * login (the deployer's, for this pull only) is used instead of the operator's, if given.
   */
  pull?: { login?: RegistryLogin };
  /** Admin-only sandbox keys the surface's `prepare` sets for its own versions: not the actor's asking. */
  grants?: ReadonlyArray<'hostLibraries' | 'packageAlias'>;
  /**
   * Store the version only if the function is still at this revision (`revision()`; 0: there was
   * no such function), as the caller's own checks found it; else `revision-conflict`, not retried.
   */
  ifRevision?: number;
}

export interface FunctionServiceOptions {
  store: Store;
  packages: PackageStore;
  /** This host's copies of packages (an ad-hoc run on an image version's tree). */
  cache: PackageCache;
  runtimes: ReadonlyMap<string, Runtime>;
  pool: InstancePool;
  logger: Logger;
  archiveLimits: { maxEntries: number; maxBytes: number };
  /** The sandbox driver's check of a version's sandbox settings (at upload and PATCH). */
  validateSandbox?(settings: SandboxSettings): Promise<void>;
  /** The sandbox tier a version's settings run in (absent: the server has no tiers, e.g. tests). */
  tierOf?(settings: SandboxSettings): string;
  /** The sandbox tier a version's settings run in, when it is one only permission:admin may ask for. */
  adminTier?(settings: SandboxSettings): string | undefined;
  quotas: Quotas;
  /** Throws unless every secret the version lists exists and its owner may read it. */
  checkSecrets?(owner: string, names: readonly string[]): Promise<void>;
  /** The deploy-time check of new versions (absent: none) and whether type errors refuse them. */
  check?: VersionCheckPolicy;
  /** Installs the package's dependencies into it (see build/); throws `build-failed`. */
  buildDependencies?(ctx: BuildContext): Promise<void>;
  /** Reads container image archives into package trees (absent: image uploads are refused). */
  images?: ImageImports;
}

/**
 * The use cases on functions, versions and aliases. API routes and (later) compatibility
 * adapters call these; they keep the store, the package store, the catalog and the pool in step.
 */
export class FunctionService {
  readonly catalog: Catalog;
  /** Feeds the catalog from the store: every write here waits for its change to route. */
  private readonly feed: CatalogFeed;
  /**
   * Orders package commits (with the version insert that references them) against package
   * removal, so a package shared by two functions is never removed while a new version of
   * another function is about to point at it. A local lock, not a stored-state one: the package
   * directory it guards is this host's (writes to a function's records are compare-and-set).
   */
  private readonly packageLock = new KeyedMutex();

  private readonly policy: TenancyPolicy;

  constructor(private readonly o: FunctionServiceOptions) {
    this.catalog = new Catalog(new Set(o.runtimes.keys()), (t) => o.pool.expect?.(t));
    this.feed = new CatalogFeed(o.store, this.catalog, (message, err) => o.logger.warn({ err }, message));
    this.policy = new TenancyPolicy(this.catalog, o.quotas, o.adminTier);
  }

  /** Loads the catalog from the store and starts every version that asks to stay hot. */
  async load(): Promise<void> {
    await this.feed.start();
    // Deletes a crash cut short (here or in another process) are finished first.
    await this.sweepDeleted();
    // Packages committed before the blob store held them go into it now, once.
    await this.o.packages.publishCached(new Set(this.catalog.targets().map((t) => t.packageSha)));
    for (const t of this.catalog.targets()) {
      if (t.config.scaling.minInstances > 0) {
        this.o.pool.deploy(t, false).catch((err) => this.o.logger.warn({ err, function: t.function, version: t.version }, 'could not start hot instances'));
      }
    }
  }

  /** Resolves once the catalog has followed every change written to the store so far. */
  caughtUp(): Promise<void> {
    return this.feed.caughtUp();
  }

  /** Stops following the store's changes (before the store closes). */
  close(): Promise<void> {
    return this.feed.close();
  }

  /** The functions `actor` may read. */
  async listFunctions(actor: Principal): Promise<FunctionRecord[]> {
    return (await this.o.store.listFunctions()).filter((f) => onFunction(actor, 'read', f.owner) === 'yes');
  }

  /** Moves a function to another group the actor is in (quotas of the new group apply). */
  async setOwner(actor: Principal, name: string, group: string): Promise<FunctionRecord> {
    return this.compareAndSet(name, async (revision) => {
      const fn = await this.getFunction(name);
      const owner = this.policy.ownerFor(actor, group);
      if (owner === fn.owner) return fn;
      this.policy.checkMove(actor, owner, name);
      await this.o.store.setFunctionOwner(name, owner, revision);
      await this.feed.caughtUp();
      return { ...fn, owner };
    });
  }

  async getFunction(name: string): Promise<FunctionRecord> {
    const fn = await this.o.store.getFunction(name);
    if (!fn) throw new FerryError('function-not-found', `no function named '${name}'`);
    return fn;
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    await this.getFunction(name);
    return this.o.store.listVersions(name);
  }

  async getVersion(name: string, version: string): Promise<VersionRecord> {
    await this.getFunction(name);
    const v = await this.o.store.getVersion(name, version);
    if (!v) throw new FerryError('version-not-found', `function '${name}' has no version '${version}'`);
    return v;
  }

  /**
   * Creates an immutable version from an archive: unpack (with every safety check), validate the
   * manifest, build, content-address, record. On any failure nothing is left behind.
   */
  async createVersion(actor: Principal, name: string, version: string | undefined, body: Readable, contentType: string, group?: string, how: CreateHow = {}): Promise<VersionRecord> {
    assertName('function', name);
    if (version !== undefined) {
      assertName('version', version);
      if (await this.o.store.getVersion(name, version)) throw new FerryError('version-exists', `version '${version}' of '${name}' already exists; versions are immutable`);
    }
    const imageFormat = how.pull ? undefined : imageArchiveFormat(contentType);
    if (!imageFormat && !how.pull && how.imageManifest !== undefined) throw new FerryError('invalid-body', 'a manifest beside the upload goes with an image archive; a package carries its ferry.json');
    const staging = await this.o.packages.stage();
    let committedSha: string | undefined;
    try {
      const log: string[] = [];
      const write = (line: string): void => void (log.push(line), how.progress?.(line));
      const { root, manifest, config, warnings } = await prepareVersionPackage(this.o, this.policy, { actor, name, version, body, contentType, imageFormat, staging, how, write });
      const rec = await this.packageLock.run('', async () => {
        const { sha, size } = await this.o.packages.commit(root);
        committedSha = sha;
        // The owner and the quota are decided against what routes now: a new function counts.
        const owner = this.catalog.owner(name) ?? this.policy.ownerFor(actor, group);
        this.policy.checkQuota(actor, owner, name, version, config);
        await this.o.checkSecrets?.(owner, config.secrets);
        const isNew = !this.catalog.has(name);
        const fn = await this.o.store.ensureFunction({ name, createdAt: Date.now(), owner });
        // Another writer created it first, for another group: its owner decides.
        if (fn.owner !== owner) {
          this.policy.checkQuota(actor, fn.owner, name, version, config);
          await this.o.checkSecrets?.(fn.owner, config.secrets);
        }
        // The function routes (its owner known to the secrets of its instances) before any starts.
        await this.feed.caughtUp();
        const store = (revision: number): Promise<VersionRecord> =>
          this.record(name, version, sha, size, manifest, log.join('\n'), revision, isNew, () => (committedSha = undefined), how.serveFirst === true);
        // A function nobody has written under since it was created is at revision 1.
        if (how.ifRevision !== undefined) return store(how.ifRevision || 1);
        return this.compareAndSet(name, store);
      });
      return warnings.length ? { ...rec, warnings } : rec;
    } finally {
      await this.o.packages.discard(staging).catch(() => {});
      if (committedSha) void this.collectPackage(committedSha);
    }
  }

  /** Inserts the version (numbered at the function's `revision`) and makes it routable. */
  private async record(name: string, version: string | undefined, sha: string, size: number, manifest: Manifest, buildLog: string, revision: number, isNew: boolean, onStored: () => void, serveFirst: boolean): Promise<VersionRecord> {
    let seq = (await this.o.store.lastVersionSeq(name)) + 1;
    // A version named `v7` by hand must not make the next automatic name collide.
    if (version === undefined) while (await this.o.store.getVersion(name, autoVersionName(seq))) seq++;
    else if ((await this.o.store.listAliases(name)).some((a) => a.alias === version)) {
      throw new FerryError('invalid-name', `'${version}' is already an alias of '${name}'; a version cannot share its name`);
    }
    const now = Date.now();
    const rec: VersionRecord = {
      function: name,
      version: version ?? autoVersionName(seq),
      seq,
      packageSha: sha,
      packageSize: size,
      manifest,
      override: {},
      buildLog,
      createdAt: now,
      updatedAt: now,
    };
    if (serveFirst) await this.serveBeforeLatest(rec, isNew);
    try {
      await this.o.store.createVersion(rec, revision);
    } catch (err) {
      if (serveFirst) await this.o.pool.stop(rec.function, rec.version).catch(() => {});
      throw err;
    }
    onStored();
    await this.feed.caughtUp();
    const target = this.catalog.target(name, rec.version) ?? this.catalog.targetOf(rec);
    if (target.config.scaling.minInstances > 0) {
      this.o.pool.deploy(target, false).catch((err) => this.o.logger.warn({ err, function: name, version: rec.version }, 'could not start hot instances'));
    }
    return rec;
  }

  /**
   * Starts the new version's instances (at least one, `minInstances` in all) before it is stored,
   * and so before it becomes `latest`: no call waits on its cold start. If none can start, a
   * function that had no other version is removed again and the error thrown.
   */
  private async serveBeforeLatest(rec: VersionRecord, isNew: boolean): Promise<void> {
    try {
      await this.o.pool.deploy(this.catalog.targetOf(rec), true);
    } catch (err) {
      await this.o.pool.stop(rec.function, rec.version).catch(() => {});
      if (isNew) {
        await this.o.store.deleteFunction(rec.function);
        await this.feed.caughtUp();
      }
      throw err;
    }
  }

  /** The sandbox tier a version runs in (`x-ferry-sandbox`), or undefined where the server has none. */
  sandboxOf(v: VersionRecord): string | undefined {
    return this.o.tierOf?.(effectiveConfig(v).sandbox);
  }

  /** PATCH: merges an override into the version's configuration and rolls its instances. */
  async patchVersion(actor: Principal, name: string, version: string, body: unknown): Promise<VersionRecord> {
    const { sets, removes } = splitRemovals(body);
    const patch = await validateOverride(sets);
    return this.compareAndSet(name, async (revision) => {
      const v = await this.getVersion(name, version);
      const merged = applyOverride(v.override, patch, removes);
      const config = effectiveConfig({ manifest: v.manifest, override: merged });
      this.policy.checkSandbox(actor, config, { mountDev: patch.mountDev, hostLibraries: patch.hostLibraries, packageAlias: patch.packageAlias });
      this.policy.checkQuota(actor, this.catalog.owner(name)!, name, version, config);
      await this.o.checkSecrets?.(this.catalog.owner(name)!, config.secrets);
      await this.o.validateSandbox?.(config.sandbox);
      const updatedAt = Math.max(Date.now(), v.updatedAt + 1);
      await this.o.store.setVersionOverride(name, version, merged, updatedAt, revision);
      const rec = { ...v, override: merged, updatedAt };
      await this.feed.caughtUp();
      const target = this.catalog.target(name, version) ?? this.catalog.targetOf(rec);
      await this.o.pool.roll(target);
      // A raised minInstances takes effect now, not at the next restart.
      if (target.config.scaling.minInstances > 0) await this.o.pool.deploy(target, false);
      return rec;
    });
  }

  async deleteVersion(name: string, version: string): Promise<void> {
    await this.compareAndSet(name, async (revision) => {
      const v = await this.getVersion(name, version);
      for (const a of await this.o.store.listAliases(name)) {
        if (aliasUses(a.target, version)) throw new FerryError('version-in-use', `alias '${a.alias}' points at '${version}'; move or delete it first`, { extras: { alias: a.alias } });
      }
      await this.o.store.deleteVersion(name, version, revision);
      // Unroutable first, so no call starts an instance of it while its instances stop.
      await this.feed.caughtUp();
      await this.o.pool.stop(name, version);
      void this.collectPackage(v.packageSha);
    });
  }

  /** The function's revision (0: no such function), for a caller's own compare-and-set (`ifRevision`). */
  async revision(name: string): Promise<number> {
    return (await this.o.store.functionRevision(name)) ?? 0;
  }

  /** Deletes the function; with `ifRevision`, only if it is still at that revision (`revision-conflict`). */
  async deleteFunction(name: string, ifRevision?: number): Promise<void> {
    const remove = async (revision: number): Promise<void> => {
      await this.getFunction(name);
      // The tombstone makes it gone everywhere at once; the sweep removes what it left.
      await this.o.store.tombstone(name, revision);
      await this.feed.caughtUp();
      await this.o.pool.stop(name);
      await this.sweep(name);
    };
    await (ifRevision === undefined ? this.compareAndSet(name, remove) : remove(ifRevision));
  }

  async listAliases(name: string): Promise<AliasRecord[]> {
    await this.getFunction(name);
    return this.o.store.listAliases(name);
  }

  async putAlias(name: string, alias: string, body: unknown): Promise<AliasRecord> {
    assertName('alias', alias);
    const target = parseAliasTarget(body);
    return this.compareAndSet(name, async (revision) => {
      await this.getFunction(name);
      if (await this.o.store.getVersion(name, alias)) throw new FerryError('invalid-alias', `'${alias}' is already a version of '${name}'; an alias cannot share its name`);
      const versions = 'version' in target ? [target.version] : Object.keys(target.weights);
      for (const v of versions) {
        if (!(await this.o.store.getVersion(name, v))) throw new FerryError('invalid-alias', `alias target '${v}' is not a version of '${name}'`);
      }
      const rec: AliasRecord = { function: name, alias, target, updatedAt: Date.now() };
      await this.o.store.putAlias(rec, revision);
      await this.feed.caughtUp();
      return rec;
    });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.getFunction(name);
    if (!(await this.o.store.deleteAlias(name, alias))) throw new FerryError('alias-not-found', `function '${name}' has no alias '${alias}'`);
    await this.feed.caughtUp();
  }

  /** Deploy: start the version's instances now (at least one). */
  async start(name: string, version: string): Promise<void> {
    await this.getVersion(name, version);
    await this.o.pool.deploy(this.catalog.target(name, version)!, true);
  }

  /** Kill: stop every instance of the version. */
  async stop(name: string, version: string): Promise<void> {
    await this.getVersion(name, version);
    await this.o.pool.stop(name, version);
  }

  resolve(name: string, ref: string | undefined): DeployTarget {
    return this.catalog.resolve(name, ref);
  }

  /** Sweeps every tombstoned function (deletes cut short by a crash); failures wait for the next sweep. */
  async sweepDeleted(): Promise<void> {
    for (const name of await this.o.store.tombstones()) {
      await this.sweep(name).catch((err) => this.o.logger.warn({ err, function: name }, 'could not sweep a deleted function; the next sweep tries again'));
    }
  }

  private async sweep(name: string): Promise<void> {
    for (const sha of await this.o.store.sweep(name)) void this.collectPackage(sha);
  }

  /** Runs a read-decide-write on a function under compare-and-set, retried on a conflict. */
  private compareAndSet<T>(name: string, write: (revision: number) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.o.store.functionRevision(name), write);
  }

  /** The target's package tree on this host, fetched into its cache when it lacks it. */
  packageDir(target: DeployTarget): Promise<string> {
    return this.o.cache.localPath(target.packageSha);
  }

  /** Removes a package (blobs and cache) once no version uses it (after any commit in progress). */
  private collectPackage(sha: string): Promise<void> {
    return this.packageLock.run('', async () => {
      try {
        if (await this.o.store.packageInUse(sha)) return;
        // What it shares with the packages still in use stays in the blob store.
        await this.o.packages.remove(sha, this.catalog.targets().map((t) => t.packageSha));
      } catch (err) {
        this.o.logger.warn({ err, sha }, 'could not remove an unused package');
      }
    });
  }
}
