/**
 * The metadata store on NATS JetStream, for more than one node: KV buckets with a revision check
 * on every update, streams for log lines and the invocation history, the object store for
 * object contents and large results. Every bucket and stream is named under a prefix (default
 * `ferry`) and created at open if missing, so two processes may open at once. docs/cluster.md
 * describes the layout. The catalog (functions, versions, aliases, their revisions and the
 * change feed) is in `catalog.ts`.
 */
import { join } from 'node:path';
import type { Store } from '../../core/store.js';
import type { AliasRecord, FunctionRecord, LogLine, VersionRecord } from '../../core/records.js';
import type { ConfigOverride } from '../../core/manifest.js';
import type { ChangeFeed } from '../../core/changes.js';
import { FerryError } from '../../errors/index.js';
import { openNats, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';
import { Bucket } from './bucket.js';
import { aliasesOf, aliasKey, Catalog, headKey, versionKey, versionsOf, type Head } from './catalog.js';
import { NatsChanges } from './changes.js';
import { ensureStream, layout } from './layout.js';
import { NatsLogs } from './logs.js';
import { NatsUsers } from './users.js';
import { NatsTokens } from './tokens.js';
import { NatsKeys } from './key-store.js';
import { NatsThrottles } from './throttles.js';
import { NatsSecrets } from './secrets.js';
import { NatsInvocations } from './invocations.js';
import { NatsSchedules } from './schedules.js';
import { NatsExecutions } from './executions.js';
import { NatsObjects } from './objects.js';
import { guarded } from './unavailable.js';

export interface NatsStoreOptions {
  nats: NatsConnectOptions;
  /** Names every bucket and stream (`<prefix>_catalog`, `<PREFIX>_LOGS`); default `ferry`. */
  prefix?: string;
  /** Where object uploads are spooled before they go to NATS. */
  dataDir: string;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class NatsStore implements Store {
  readonly kind = 'nats';
  private closed = false;

  private constructor(
    private readonly h: NatsHandle,
    private readonly catalog: Catalog,
    private readonly changes: NatsChanges,
    private readonly logs: NatsLogs,
    private readonly catalogStream: string,
    readonly users: NatsUsers,
    readonly tokens: NatsTokens,
    readonly keys: NatsKeys,
    readonly throttles: NatsThrottles,
    readonly secrets: NatsSecrets,
    readonly invocations: NatsInvocations,
    readonly schedules: NatsSchedules,
    readonly executions: NatsExecutions,
    readonly objects: NatsObjects,
  ) {}

  /** Connects (a lease on the process's shared connection) and opens or creates every bucket and stream. */
  static async open(opts: NatsStoreOptions): Promise<NatsStore> {
    const names = layout(opts.prefix ?? 'ferry');
    const h = await openNats(opts.nats).catch((err: unknown) => {
      throw new Error(`cannot reach NATS at ${opts.nats.servers.join(', ')} (--store): ${(err as Error).message}`, { cause: err });
    });
    try {
      const [catalog, users, tokens, keys, throttles, secrets, schedules, executions, objects] = await Promise.all(
        [names.catalog, names.users, names.tokens, names.keys, names.throttles, names.secrets, names.schedules, names.executions, names.objects].map((b) => Bucket.open(h, b)),
      );
      const blobs = await h.objm.create(names.objectBlobs);
      await ensureStream(h, names.logStream, [`${names.logSubject}.>`]);
      await ensureStream(h, names.invocationStream, [`${names.invocationSubject}.>`]);
      const logs = new NatsLogs(h, names.logStream, names.logSubject);
      const tokenStore = new NatsTokens(tokens!);
      const cat = new Catalog(catalog!);
      const live = async (fn: string): Promise<boolean> => {
        const head = await cat.bucket.get<Head>(headKey(fn));
        return head !== undefined && !head.value.deleted;
      };
      const objectStore = new NatsObjects(objects!, blobs, join(opts.dataDir, 'nats-spool'), live);
      await objectStore.collect();
      return new NatsStore(
        h,
        cat,
        new NatsChanges(catalog!.kv),
        logs,
        `KV_${names.catalog}`,
        new NatsUsers(users!, tokenStore),
        tokenStore,
        new NatsKeys(keys!),
        new NatsThrottles(throttles!),
        new NatsSecrets(secrets!),
        new NatsInvocations(h, names.invocationStream, names.invocationSubject),
        new NatsSchedules(schedules!, live),
        new NatsExecutions(executions!, blobs, logs),
        objectStore,
      );
    } catch (err) {
      await h.close();
      throw err;
    }
  }

  private get bucket(): Bucket {
    return this.catalog.bucket;
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return (await this.bucket.scan<Head>('fn.*')).filter((e) => !e.value.deleted).map((e) => e.value.fn).sort(byName);
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const head = await this.bucket.get<Head>(headKey(name));
    return head && !head.value.deleted ? head.value.fn : undefined;
  }

  async ensureFunction(rec: FunctionRecord): Promise<FunctionRecord> {
    for (;;) {
      const head = await this.catalog.head(rec.name);
      // A deleted function's name is free: what the old one left goes first.
      if (head?.value.deleted) {
        await this.sweep(rec.name);
        continue;
      }
      if (head) return head.value.fn;
      if ((await this.bucket.create(headKey(rec.name), { fn: rec, lastSeq: 0 } satisfies Head)) !== undefined) return rec;
    }
  }

  async functionRevision(name: string): Promise<number | undefined> {
    const head = await this.catalog.head(name);
    return head && !head.value.deleted ? head.revision : undefined;
  }

  async deleteFunction(name: string, expected?: number): Promise<string[]> {
    await this.tombstone(name, expected);
    return this.sweep(name);
  }

  async tombstone(name: string, expected?: number): Promise<void> {
    await this.catalog.write(
      name,
      expected,
      async () => {
        const shas = [...new Set((await this.listVersions(name)).map((v) => v.packageSha))].sort();
        return { head: { deleted: { at: Date.now(), shas } }, result: undefined };
      },
      () => undefined,
    );
  }

  async tombstones(): Promise<string[]> {
    return (await this.bucket.scan<Head>('fn.*')).filter((e) => e.value.deleted).map((e) => e.value.fn.name).sort();
  }

  /**
   * One kind of record at a time, each entry deleted only if unchanged since it was read (so a
   * sweep that runs late never deletes what a function of the same name wrote since); the head
   * goes last, so until then `tombstones()` names the function.
   */
  async sweep(name: string): Promise<string[]> {
    const head = await this.catalog.head(name);
    if (!head?.value.deleted) return [];
    await this.logs.deleteOf(name);
    await this.executions.deleteOf(name);
    await this.objects.deleteOf(name);
    await this.schedules.deleteOf(name);
    for (const filter of [aliasesOf(name), versionsOf(name)]) {
      for (const e of await this.bucket.scan(filter)) await this.bucket.delete(e.key, e.revision);
    }
    await this.bucket.delete(headKey(name), head.revision);
    return head.value.deleted.shas;
  }

  async listVersions(fn: string): Promise<VersionRecord[]> {
    return (await this.bucket.scan<VersionRecord>(versionsOf(fn))).map((e) => e.value).sort((a, b) => a.seq - b.seq);
  }

  async getVersion(fn: string, version: string): Promise<VersionRecord | undefined> {
    return (await this.bucket.get<VersionRecord>(versionKey(fn, version)))?.value;
  }

  async lastVersionSeq(fn: string): Promise<number> {
    const head = await this.bucket.get<Head>(headKey(fn));
    return head && !head.value.deleted ? head.value.lastSeq : 0;
  }

  /** `version-exists` if the version, or another with its seq, is there (two uploads racing for one seq). */
  async createVersion(rec: VersionRecord, expected?: number): Promise<void> {
    const { warnings: _notStored, ...stored } = rec;
    await this.catalog.write(
      rec.function,
      expected,
      async (head) => {
        const versions = await this.listVersions(rec.function);
        if (versions.some((v) => v.version === rec.version)) throw new FerryError('version-exists', `version ${rec.version} of function ${rec.function} already exists`);
        if (versions.some((v) => v.seq === rec.seq)) throw new FerryError('version-exists', `sequence number ${rec.seq} of function ${rec.function} is already taken by another version`);
        return { head: { lastSeq: Math.max(head.value.lastSeq, rec.seq) }, op: { key: versionKey(rec.function, rec.version), value: stored }, result: undefined };
      },
      () => {
        throw new FerryError('function-not-found', `function ${rec.function} does not exist`);
      },
    );
  }

  async setVersionOverride(fn: string, version: string, override: ConfigOverride, updatedAt: number, expected?: number): Promise<void> {
    const missing = (): never => {
      throw new FerryError('version-not-found', `function ${fn} has no version ${version}`);
    };
    await this.catalog.write(
      fn,
      expected,
      async () => {
        const cur = (await this.getVersion(fn, version)) ?? missing();
        return { op: { key: versionKey(fn, version), value: { ...cur, override, updatedAt } }, result: undefined };
      },
      missing,
    );
  }

  async deleteVersion(fn: string, version: string, expected?: number): Promise<void> {
    await this.catalog.write(fn, expected, async () => ({ op: { key: versionKey(fn, version), value: null }, result: undefined }), () => undefined);
  }

  async packageInUse(sha: string): Promise<boolean> {
    return (await this.bucket.scan<VersionRecord>('v.>')).some((e) => e.value.packageSha === sha);
  }

  async listAliases(fn: string): Promise<AliasRecord[]> {
    return (await this.bucket.scan<AliasRecord>(aliasesOf(fn))).map((e) => e.value).sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  }

  async putAlias(rec: AliasRecord, expected?: number): Promise<void> {
    await this.catalog.write(
      rec.function,
      expected,
      async () => ({ op: { key: aliasKey(rec.function, rec.alias), value: rec }, result: undefined }),
      () => {
        throw new FerryError('function-not-found', `function ${rec.function} does not exist`);
      },
    );
  }

  async deleteAlias(fn: string, alias: string, expected?: number): Promise<boolean> {
    return this.catalog.write(
      fn,
      expected,
      async () => ({ op: { key: aliasKey(fn, alias), value: null }, result: (await this.bucket.get(aliasKey(fn, alias))) !== undefined }),
      () => false,
    );
  }

  async setFunctionOwner(name: string, owner: string, expected?: number): Promise<void> {
    await this.catalog.write(
      name,
      expected,
      async (head) => ({ head: { fn: { ...head.value.fn, owner } }, result: undefined }),
      () => {
        throw new FerryError('function-not-found', `no function named '${name}'`);
      },
    );
  }

  /** The catalog stream's last sequence: every change to a function, version or alias is one message. */
  async revision(): Promise<number> {
    return (await guarded(() => this.h.jsm.streams.info(this.catalogStream))).state.last_seq;
  }

  watch(fromRevision: number): ChangeFeed {
    return this.changes.watch(fromRevision);
  }

  async appendLogs(lines: LogLine[]): Promise<void> {
    if (lines.length > 0) await this.logs.append(lines);
  }

  queryLogs(fn: string, opts: { afterId?: number; limit: number; version?: string }): Promise<Array<LogLine & { id: number }>> {
    return this.logs.read(fn, opts);
  }

  pruneLogs(opts: { maxAgeMs: number; maxLinesPerFunction: number; now: number }): Promise<void> {
    return this.logs.prune(opts);
  }

  /** Ends the change feeds and gives the connection lease back; calling it again is a no-op. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.changes.closeAll();
    await this.h.close();
  }
}
