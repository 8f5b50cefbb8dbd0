import type { AliasRecord, FunctionRecord, LogLine, InvocationRecord, ScheduleRecord, SecretRecord, ThrottleRecord, TokenKind, TokenRecord, UserRecord, VersionRecord } from './records.js';
import type { ConfigOverride } from './manifest.js';
import type { ExecutionStore } from './executions.js';
import type { ObjectStore } from './objects.js';
import type { ChangeFeed } from './changes.js';

/**
 * Metadata store. Async so that the embedded SQLite store and the NATS JetStream store share it;
 * the hot path never calls it (the catalog caches what routing needs).
 */
export interface Store {
  readonly kind: string;

  listFunctions(): Promise<FunctionRecord[]>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  /** Creates the function if missing; answers the stored record. */
  ensureFunction(rec: FunctionRecord): Promise<FunctionRecord>;
  /**
   * The function's revision (undefined when there is no such function): every write under the
   * function (its owner, its versions and their overrides, its aliases) raises it. The writes below
   * take it as `expected` for a compare-and-set: given, the write happens only if the revision is
   * still `expected`, else it throws FerryError `revision-conflict` and changes nothing; so a caller
   * reads the revision, then what it decides on, then writes, and retries on a conflict.
   */
  functionRevision(name: string): Promise<number | undefined>;
  /**
   * Deletes the function: `tombstone`, then `sweep`; answers the package shas its versions used.
   * A crash between the two leaves the tombstone, which a later `sweep` of `tombstones()` clears.
   */
  deleteFunction(name: string, expected?: number): Promise<string[]>;
  /**
   * Marks the function deleted (a key-value write, no cascade): from now on it is gone for
   * `getFunction`, `listFunctions`, `functionRevision`, the change feed and every write under it;
   * its versions, aliases, schedules, objects, executions and log lines stay until `sweep`.
   * Its name is free at once: `ensureFunction` sweeps the tombstone first.
   */
  tombstone(name: string, expected?: number): Promise<void>;
  /** Functions tombstoned and not yet swept (a sweep cut short by a crash, or not yet run). */
  tombstones(): Promise<string[]>;
  /**
   * Removes what a tombstoned function left, one kind of record at a time, then the tombstone;
   * answers the package shas its versions used. Safe to run again after a crash, or by two
   * processes at once; a name without a tombstone answers [] and is left alone.
   */
  sweep(name: string): Promise<string[]>;

  listVersions(fn: string): Promise<VersionRecord[]>;
  getVersion(fn: string, version: string): Promise<VersionRecord | undefined>;
  /** Highest `seq` of the function's versions so far (0 when none); never reused after deletes. */
  lastVersionSeq(fn: string): Promise<number>;
  /** Inserts a version; throws FerryError `version-exists` if it is already there. */
  createVersion(rec: VersionRecord, expected?: number): Promise<void>;
  setVersionOverride(fn: string, version: string, override: ConfigOverride, updatedAt: number, expected?: number): Promise<void>;
  deleteVersion(fn: string, version: string, expected?: number): Promise<void>;
  /** Whether any version of any function still uses this package. */
  packageInUse(sha: string): Promise<boolean>;

  listAliases(fn: string): Promise<AliasRecord[]>;
  putAlias(rec: AliasRecord, expected?: number): Promise<void>;
  deleteAlias(fn: string, alias: string, expected?: number): Promise<boolean>;

  /** Moves a function to another owning group. */
  setFunctionOwner(name: string, owner: string, expected?: number): Promise<void>;

  /** The store-wide revision of the newest change to functions, versions or aliases (0 before any). */
  revision(): Promise<number>;
  /**
   * The changes to functions, versions and aliases after `fromRevision`, then each new one as it
   * is written, by this process or any other on the same store (the routing catalog follows it).
   */
  watch(fromRevision: number): ChangeFeed;

  readonly users: UserStore;
  readonly tokens: TokenStore;
  readonly keys: KeyStore;
  readonly throttles: ThrottleStore;
  readonly secrets: SecretStore;
  readonly invocations: InvocationStore;
  readonly schedules: ScheduleStore;
  readonly executions: ExecutionStore;
  /** Per-function objects; `deleteFunction` deletes a function's objects too. */
  readonly objects: ObjectStore;

  appendLogs(lines: LogLine[]): Promise<void>;
  queryLogs(fn: string, opts: { afterId?: number; limit: number; version?: string }): Promise<Array<LogLine & { id: number }>>;
  pruneLogs(opts: { maxAgeMs: number; maxLinesPerFunction: number; now: number }): Promise<void>;

  close(): Promise<void>;
}

/** Users. Names are unique; deleting a user does not delete what its groups own. */
export interface UserStore {
  /** Throws FerryError `user-exists` if the name is taken. */
  create(rec: UserRecord): Promise<void>;
  get(name: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** Answers the updated record, or undefined when there is no such user. */
  update(name: string, patch: { passwordHash?: string | null; groups?: string[]; updatedAt: number }): Promise<UserRecord | undefined>;
  /** Deletes the user and revokes every token it holds, in one step. */
  delete(name: string, now: number): Promise<boolean>;
}

/** Stored tokens (API, refresh, invite), by their sha256. */
export interface TokenStore {
  create(rec: TokenRecord): Promise<void>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(filter: { subject?: string; kind?: TokenKind }): Promise<TokenRecord[]>;
  /** Marks the token revoked; false when there is none or it already was. */
  revoke(id: string, now: number): Promise<boolean>;
  /**
   * Consumes a single-use token (a refresh token, an invite): revokes it only if it is still
   * valid, atomically, so two concurrent uses cannot both succeed.
   */
  consume(hash: string, now: number): Promise<TokenRecord | undefined>;
  count(): Promise<number>;
  /** Removes tokens expired or revoked before `before`. */
  prune(before: number): Promise<void>;
}

/**
 * Server-wide secret keys (token signing, secret encryption). Every node of a cluster must use
 * the same ones, so they live behind the store; the embedded store keeps each as a 0600 file.
 */
export interface KeyStore {
  /** The key named `name`, created once with `create` if it does not exist yet. */
  get(name: string, create: () => Buffer): Promise<Buffer>;
  /**
   * The key set named `name` (its first key made with `create` if there is none yet). With
   * `refresh`, read again, for a key id this process has not seen: another process rotated.
   */
  keySet(name: string, create: () => Buffer, opts?: { refresh?: boolean }): Promise<KeySet>;
  /** Makes a new key (from `create`) the set's current one; the earlier keys keep working. */
  rotate(name: string, create: () => Buffer): Promise<KeySet>;
}

/** One key of a key set. */
export interface SetKey {
  /** Derived from the key itself (`keyId`), so every node names a key alike. */
  id: string;
  key: Buffer;
}

/** The keys of one purpose (token signing, secret sealing): what signs now and what still verifies. */
export interface KeySet {
  /** The newest key: new tokens are signed and new secrets sealed with it. */
  current: SetKey;
  /** Every key, oldest first (the current one last); each still verifies tokens and opens secrets. */
  keys: SetKey[];
}

/** Secrets, sealed by the caller; the store never sees a clear value. */
export interface SecretStore {
  /** Creates or replaces; answers whether it existed before. */
  put(rec: SecretRecord): Promise<boolean>;
  get(owner: string, name: string): Promise<SecretRecord | undefined>;
  /** The secrets of these owning groups (all groups when undefined), by owner then name. */
  list(owners: string[] | undefined): Promise<SecretRecord[]>;
  delete(owner: string, name: string): Promise<boolean>;
}

/** The invocation history: appended in batches, read newest first, pruned per function. */
export interface InvocationStore {
  append(batch: InvocationRecord[]): Promise<void>;
  /** Newest first; `before` is the cursor (an id from a previous page). Payloads left out. */
  list(q: { functions: string[] | undefined; before?: string; limit: number }): Promise<InvocationRecord[]>;
  get(id: string): Promise<InvocationRecord | undefined>;
  /** Keeps the newest `perFunction` of each function (of `functions`, or all) and nothing older than `maxAgeMs`. */
  prune(opts: { perFunction: number; maxAgeMs: number; now: number; functions?: string[] }): Promise<void>;
}

/** Cron schedules; they go with their function. */
export interface ScheduleStore {
  /** Creates or replaces; throws `function-not-found` when the function is gone. */
  put(rec: ScheduleRecord): Promise<void>;
  get(fn: string, id: string): Promise<ScheduleRecord | undefined>;
  /** One function's, or every function's when undefined. */
  list(fn: string | undefined): Promise<ScheduleRecord[]>;
  delete(fn: string, id: string): Promise<boolean>;
  /**
   * Records a fired run: sets last_run and next_run only if next_run is still `expected`, so of
   * two nodes firing the same run one wins. Answers whether this caller won.
   */
  advance(fn: string, id: string, expected: number | null, lastRun: number, nextRun: number | null): Promise<boolean>;
}

/** Failed-attempt counters (login throttling), shared by every node. */
export interface ThrottleStore {
  get(key: string): Promise<ThrottleRecord | undefined>;
  put(rec: ThrottleRecord): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drops counters whose window and block both ended before `before`. */
  prune(before: number): Promise<void>;
}

/**
 * Content-addressed package trees: a built package lives under its sha256, once, in the blob
 * store (where any node fetches it from: `PackageCache`).
 */
export interface PackageStore {
  /** Stores a staged, built tree under its content hash (dedupes). */
  commit(stagingDir: string): Promise<{ sha: string; size: number }>;
  /** Deletes a package; what it shares with the packages of `inUse` (their shas) stays. */
  remove(sha: string, inUse: Iterable<string>): Promise<void>;
  /** Puts the packages this host has but the blob store lacks (a data dir from before it) into it, once per data dir. */
  publishCached(shas: Iterable<string>): Promise<void>;
  /** A fresh staging directory on the same filesystem. */
  stage(): Promise<string>;
  discard(stagingDir: string): Promise<void>;
}

/** The worker side of packages: a package's tree on this host, by its sha. */
export interface PackageCache {
  /** The host path of the package's read-only tree, fetched from the blob store when this host lacks it. */
  localPath(sha: string): Promise<string>;
}
