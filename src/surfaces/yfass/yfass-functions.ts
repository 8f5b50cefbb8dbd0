import { Readable } from 'node:stream';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertName, type InstancePool, type Principal } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { allows, memberOf, onFunction, type Permission } from '../../auth/index.js';
import { archiveFormat, unpackArchive, type UnpackLimits } from '../../packages/index.js';
import { KeyedMutex, type FunctionService } from '../../service/index.js';
import { ferryVersion, type YfassKey } from './yfass-key.js';
import { parseServiceConfig, toManifest } from './service-config.js';
import { YfassRecords, type YfassRecord } from './yfass-records.js';

export interface YfassFunctionsDeps {
  service: FunctionService;
  pool: InstancePool;
  /** `<data-dir>/yfass`. */
  dir: string;
  archiveLimits: UnpackLimits;
}

/** `/api/get`'s answer. */
export interface YfassInfo {
  meta: { name: string; version: string; version_alias: string | null };
  config: unknown;
}

/**
 * YFASS's function management over Ferry's functions. A YFASS version is a Ferry version of the
 * same function (`ferryVersion` names it); it exists in Ferry once it has a config, since its
 * command is part of what Ferry builds and checks. Until then the upload is kept by
 * `YfassRecords`. Every change to one function runs under that function's lock.
 */
export class YfassFunctions {
  private readonly records: YfassRecords;
  /**
   * One write at a time per name to this host's YFASS record files (`YfassRecords`): a local
   * lock for local files; the Ferry writes made under it are compare-and-set in the service.
   */
  private readonly locks = new KeyedMutex();

  constructor(private readonly d: YfassFunctionsDeps) {
    this.records = new YfassRecords(join(d.dir, 'versions'));
  }

  /** `POST /api/upload/{name@version}`: checks and keeps the archive; Ferry builds it at override. */
  async upload(actor: Principal, key: YfassKey, contentType: string, body: Buffer): Promise<void> {
    need(actor, 'write');
    if (!('name' in key)) throw new FerryError('invalid-name', 'upload needs a key name@version');
    const v = ferryVersion(key.version);
    archiveFormat(contentType);
    await this.locks.run(key.name, async () => {
      this.mayUse(actor, key.name, 'write');
      if (this.d.service.catalog.has(key.name) && !(await this.records.hasFunction(key.name))) {
        throw new FerryError('name-conflict', `'${key.name}' is a Ferry function not created through the YFASS API`);
      }
      if (await this.records.get(key.name, v)) throw new FerryError('version-exists', `version '${key.version}' of '${key.name}' already exists (as Ferry version '${v}')`);
      // Unpacked once now, with every safety check, so a bad archive is refused at upload.
      await mkdir(this.d.dir, { recursive: true });
      const tmp = await mkdtemp(join(this.d.dir, '.check-'));
      try {
        await unpackArchive(Readable.from([body]), contentType, join(tmp, 'contents'), this.d.archiveLimits);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      await this.records.create({ name: key.name, version: key.version, ferryVersion: v, alias: null, config: null, deployed: false, contentType }, body);
    });
  }

  async get(actor: Principal, key: YfassKey): Promise<YfassInfo> {
    need(actor, 'read');
    const rec = await this.find(actor, key, 'read');
    return { meta: { name: rec.name, version: rec.version, version_alias: rec.alias }, config: rec.config };
  }

  /**
   * `PUT /api/override/{key}`: the version's config. Ferry (re)builds the version from the kept
   * upload with the manifest the config maps to, as the caller (so Ferry's rights rules on binds,
   * devices and quotas apply), and restores its alias and deployed state.
   */
  async override(actor: Principal, key: YfassKey, body: unknown): Promise<void> {
    need(actor, 'write');
    const config = parseServiceConfig(body);
    if (config.group !== undefined && !memberOf(actor, config.group)) throw new FerryError('forbidden', `the config's group '${config.group}' is not one of yours`);
    await this.withRecord(actor, key, 'write', async (rec) => {
      const manifest = toManifest(config, rec.version);
      const contents = await this.records.contents(rec);
      await this.unbuild(rec);
      try {
        await this.build(actor, rec, contents, manifest);
      } catch (err) {
        // The old config's build comes back, so a refused config changes nothing.
        if (rec.config) await this.build(actor, rec, contents, toManifest(rec.config, rec.version)).catch(() => {});
        throw err;
      }
      await this.records.update({ ...rec, config });
    });
  }

  /** `PUT /api/alias/{name@version}`: `{"alias": "x"}` sets (moving it from any other version), `null` removes. */
  async alias(actor: Principal, key: YfassKey, body: unknown): Promise<void> {
    need(actor, 'write');
    if (!('name' in key)) throw new FerryError('invalid-name', 'alias needs a key name@version');
    const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (!b || !('alias' in b) || (b.alias !== null && typeof b.alias !== 'string')) throw new FerryError('invalid-body', 'the body must be {"alias": "name"} or {"alias": null}');
    const alias = b.alias as string | null;
    if (alias !== null) assertName('alias', alias);
    await this.withRecord(actor, key, 'write', async (rec) => {
      if (alias === rec.alias) return;
      if (alias !== null) {
        // A bare alias is a key of its own: it names one version of one function.
        const holder = (await this.records.list()).find((r) => r.alias === alias);
        if (holder && holder.name !== rec.name) throw new FerryError('invalid-alias', `'${alias}' is already an alias of '${holder.name}'`);
        if (holder) {
          await this.dropFerryAlias(holder);
          await this.records.update({ ...holder, alias: null });
        }
      }
      await this.dropFerryAlias(rec);
      const next = { ...rec, alias };
      if (alias !== null && rec.config) await this.d.service.putAlias(rec.name, alias, { version: rec.ferryVersion });
      await this.records.update(next);
    });
  }

  /** `DELETE /api/remove/{key}`: the version, its alias, and the function with its last version. */
  async remove(actor: Principal, key: YfassKey): Promise<void> {
    need(actor, 'remove');
    await this.withRecord(actor, key, 'remove', async (rec) => {
      await this.unbuild(rec);
      await this.records.remove(rec);
      if (!(await this.records.hasFunction(rec.name)) && this.d.service.catalog.has(rec.name)) await this.d.service.deleteFunction(rec.name);
    });
  }

  /** `POST /api/deploy/{key}`: starts the service and keeps it running until killed. */
  async deploy(actor: Principal, key: YfassKey): Promise<void> {
    need(actor, 'execute');
    await this.withRecord(actor, key, 'execute', async (rec) => {
      if (!rec.config) throw new FerryError('not-configured', `'${rec.name}@${rec.version}' has no service config yet: PUT /api/override/${rec.name}@${rec.version} first`);
      try {
        await this.start(actor, rec);
      } catch (err) {
        // A service that cannot start is not left half-deployed (kept wanted, never running).
        await this.d.service.patchVersion(actor, rec.name, rec.ferryVersion, { scaling: { minInstances: 0 } }).catch(() => {});
        throw err;
      }
      await this.records.update({ ...rec, deployed: true });
    });
  }

  /** `POST /api/kill/{key}`: stops it. */
  async kill(actor: Principal, key: YfassKey): Promise<void> {
    need(actor, 'execute');
    await this.withRecord(actor, key, 'execute', async (rec) => {
      await this.records.update({ ...rec, deployed: false });
      if (!rec.config) return;
      await this.d.service.patchVersion(actor, rec.name, rec.ferryVersion, { scaling: { minInstances: 0 } });
      await this.d.service.stop(rec.name, rec.ferryVersion);
    });
  }

  async status(actor: Principal, key: YfassKey): Promise<{ running: boolean }> {
    need(actor, 'execute');
    const rec = await this.find(actor, key, 'execute');
    return { running: this.d.pool.list(rec.name).some((i) => i.version === rec.ferryVersion) };
  }

  private async start(actor: Principal, rec: YfassRecord): Promise<void> {
    await this.d.service.patchVersion(actor, rec.name, rec.ferryVersion, { scaling: { minInstances: 1 } });
    await this.d.service.start(rec.name, rec.ferryVersion);
  }

  /** Builds the Ferry version from the kept upload with `manifest` written as its ferry.json. */
  private async build(actor: Principal, rec: YfassRecord, contents: Buffer, manifest: object): Promise<void> {
    await this.d.service.createVersion(actor, rec.name, rec.ferryVersion, Readable.from([contents]), rec.contentType, undefined, {
      prepare: async (staging) => {
        await writeFile(join(staging, 'ferry.json'), JSON.stringify(manifest));
        return staging;
      },
      // The contents' second mount point is the surface's, whoever configures the service.
      grants: ['packageAlias'],
    });
    if (rec.alias) await this.d.service.putAlias(rec.name, rec.alias, { version: rec.ferryVersion });
    if (rec.deployed) await this.start(actor, rec);
  }

  /** Removes the Ferry version (and its alias) if it was built; the record stays. */
  private async unbuild(rec: YfassRecord): Promise<void> {
    if (!rec.config) return;
    await this.dropFerryAlias(rec);
    await this.d.service.deleteVersion(rec.name, rec.ferryVersion).catch((err: unknown) => {
      if (!(err instanceof FerryError && (err.code === 'version-not-found' || err.code === 'function-not-found'))) throw err;
    });
  }

  private async dropFerryAlias(rec: YfassRecord): Promise<void> {
    if (!rec.alias || !rec.config) return;
    await this.d.service.deleteAlias(rec.name, rec.alias).catch(() => {});
  }

  private async withRecord(actor: Principal, key: YfassKey, perm: Permission, fn: (rec: YfassRecord) => Promise<void>): Promise<void> {
    const name = 'name' in key ? key.name : (await this.find(actor, key, perm)).name;
    await this.locks.run(name, async () => fn(await this.find(actor, key, perm)));
  }

  /**
   * The version a key names, if the caller may act on it: YFASS's rule (membership in the
   * config's `group`) and Ferry's (the function's owning group) both apply. One the caller may
   * not see answers 404, as Ferry's API does.
   */
  private async find(actor: Principal, key: YfassKey, perm: Permission): Promise<YfassRecord> {
    const rec = 'name' in key ? await this.records.get(key.name, ferryVersion(key.version)) : (await this.records.list()).find((r) => r.alias === key.alias);
    const label = 'name' in key ? `${key.name}@${key.version}` : key.alias;
    if (!rec || ('name' in key && rec.version !== key.version)) throw new FerryError('version-not-found', `no YFASS function '${label}'`);
    this.mayUse(actor, rec.name, perm);
    const group = rec.config?.group;
    if (group !== undefined && !memberOf(actor, group)) throw new FerryError('forbidden', `'${label}' belongs to the group '${group}'`);
    return rec;
  }

  /** Ferry's rule on an existing function: its owning group, as the management API checks it. */
  private mayUse(actor: Principal, name: string, perm: Permission): void {
    const owner = this.d.service.catalog.owner(name);
    if (owner === undefined) return;
    const may = onFunction(actor, perm, owner);
    if (may === 'hidden') throw new FerryError('version-not-found', `no YFASS function '${name}'`);
    if (may === 'forbidden') throw new FerryError('forbidden', `your groups do not allow ${perm} on '${name}'`);
  }
}

function need(actor: Principal, perm: Permission): void {
  if (!allows(actor, perm)) throw new FerryError('forbidden', `this needs permission:${perm}`);
}
