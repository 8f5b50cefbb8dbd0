/**
 * The embedded metadata store: one SQLite file in the data dir, opened with better-sqlite3.
 * better-sqlite3 is synchronous, and that is fine here: every query is an indexed lookup on a
 * local file, and the hot path reads the catalog cache, not the store. The methods are async only
 * to share the `Store` interface with networked stores.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../../core/store.js';
import type { AliasRecord, FunctionRecord, LogLine, VersionRecord } from '../../core/records.js';
import type { ConfigOverride } from '../../core/manifest.js';
import { FerryError } from '../../errors/index.js';
import { migrate } from './migrations.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteUsers } from './users.js';
import { SqliteTokens } from './tokens.js';
import { FileKeys } from './keys.js';
import { SqliteThrottles } from './throttles.js';
import { SqliteSecrets } from './secrets.js';
import { SqliteInvocations } from './invocations.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteExecutions } from './executions.js';
import { SqliteObjects } from './objects.js';
import { SqliteChanges, type ChangeRow } from './changes.js';
import type { Change, ChangeFeed } from '../../core/changes.js';
import {
  aliasFromRow,
  aliasToRow,
  functionFromRow,
  functionToRow,
  logFromRow,
  logToRow,
  parseJson,
  versionFromRow,
  versionToRow,
} from './rows.js';

/** Options of `SqliteStore`. */
export interface SqliteStoreOptions {
  /** Directory holding `ferry.db` (created if missing). */
  dataDir: string;
  /** How long a write waits for another process's lock before failing; default 5000 ms. */
  busyTimeoutMs?: number;
  /** How often an open change feed checks for other processes' writes; default 100 ms. */
  watchPollMs?: number;
  /** Change-feed rows kept; a feed behind the oldest gets a resync. Default 10,000. */
  changesKept?: number;
  /** How often the change feed is pruned to `changesKept`; default 60 s. */
  changesPruneMs?: number;
}

/** File name of the database inside the data dir. */
export const databaseFileName = 'ferry.db';

/** The SQLite result code of a better-sqlite3 error, e.g. `SQLITE_CONSTRAINT_PRIMARYKEY`. */
function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/**
 * `Store` on a SQLite file. Opening is synchronous: it creates the data dir and database if
 * missing, sets the connection pragmas, and migrates the schema (throwing FerryError `internal` if
 * the file comes from a newer Ferry).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** Path of the database file. */
  readonly file: string;
  private readonly db: Database.Database;
  private readonly sql: Statements;
  readonly users: SqliteUsers;
  readonly tokens: SqliteTokens;
  readonly keys: FileKeys;
  readonly throttles: SqliteThrottles;
  readonly secrets: SqliteSecrets;
  readonly invocations: SqliteInvocations;
  readonly schedules: SqliteSchedules;
  readonly executions: SqliteExecutions;
  readonly objects: SqliteObjects;
  private readonly changes: SqliteChanges;

  constructor(opts: SqliteStoreOptions) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.join(opts.dataDir, databaseFileName);
    this.db = new Database(this.file);
    try {
      // busy_timeout first: switching to WAL itself needs the lock another process may hold.
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      // WAL lets readers (CLI, a second server process) run while the server writes;
      // synchronous=NORMAL is durable in WAL except for the last commits on power loss, which
      // for metadata that the client re-sends on failure is the right trade for write latency.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      migrate(this.db);
      // After migrate, which turns foreign keys off while it runs; cascades depend on them.
      this.db.pragma('foreign_keys = ON');
      this.sql = prepareStatements(this.db);
      this.users = new SqliteUsers(this.db);
      this.tokens = new SqliteTokens(this.db);
      this.throttles = new SqliteThrottles(this.db);
      this.secrets = new SqliteSecrets(this.db);
      this.invocations = new SqliteInvocations(this.db);
      this.schedules = new SqliteSchedules(this.db);
      this.executions = new SqliteExecutions(this.db);
      this.objects = new SqliteObjects(this.db, path.join(opts.dataDir, 'objects'));
      this.keys = new FileKeys(path.join(opts.dataDir, 'keys'));
      this.changes = new SqliteChanges(this.db, (row) => this.changeOf(row), opts.watchPollMs ?? 100, opts.changesKept ?? 10_000, opts.changesPruneMs ?? 60_000);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return this.sql.listFunctions.all().map(functionFromRow);
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const row = this.sql.getFunction.get(name);
    return row && functionFromRow(row);
  }

  /** Inserts the function unless present; answers the stored record (an existing one wins). */
  async ensureFunction(rec: FunctionRecord): Promise<FunctionRecord> {
    // A deleted function's name is free: what the old one left goes first.
    if (this.sql.isTombstoned.get(rec.name)) await this.sweep(rec.name);
    return this.db.transaction(() => {
      this.sql.insertFunction.run(functionToRow(rec));
      const row = this.sql.getFunction.get(rec.name);
      if (!row) throw new FerryError('internal', `function ${rec.name} vanished right after it was stored`);
      return functionFromRow(row);
    }).immediate();
  }

  /**
   * Deletes the function, its versions, aliases, log lines and executions. Answers the distinct package shas
   * its versions used (sorted), whether or not other functions still use them: the caller asks
   * `packageInUse` before removing a package. Unknown function: answers `[]`.
   */
  async deleteFunction(name: string, expected?: number): Promise<string[]> {
    await this.tombstone(name, expected);
    return this.sweep(name);
  }

  async tombstone(name: string, expected?: number): Promise<void> {
    this.db.transaction(() => {
      if (expected !== undefined) this.raise(name, expected);
      this.sql.tombstone.run(Date.now(), JSON.stringify(this.sql.functionShas.all(name)), name);
    }).immediate();
  }

  async tombstones(): Promise<string[]> {
    return this.sql.tombstones.all();
  }

  /**
   * Each step its own transaction, as a key-value store would do it; each is a no-op when run
   * again, so a sweep cut short by a crash resumes. The tombstone goes last: until then
   * `tombstones()` names the function. Versions go after aliases, schedules and objects, and the
   * seq counter with the row, so a name used again starts at v1.
   */
  async sweep(name: string): Promise<string[]> {
    const recorded = this.sql.tombstoneShas.get(name);
    if (recorded === undefined) return [];
    this.sql.deleteFunctionLogs.run(name);
    this.executions.deleteOf(name);
    const blobs = this.db.transaction(() => this.objects.deleteOf(name)).immediate();
    // Object blobs only once the rows are gone for good.
    this.objects.collect(blobs);
    this.sql.deleteFunctionSchedules.run(name);
    this.sql.deleteFunctionAliases.run(name);
    this.sql.deleteFunctionVersions.run(name);
    this.sql.deleteTombstone.run(name);
    return parseJson<string[]>(recorded, `functions(${name}).deleted_shas`);
  }

  /** Versions of the function in ascending `seq`. */
  async listVersions(fn: string): Promise<VersionRecord[]> {
    return this.sql.listVersions.all(fn).map(versionFromRow);
  }

  async getVersion(fn: string, version: string): Promise<VersionRecord | undefined> {
    const row = this.sql.getVersion.get(fn, version);
    return row && versionFromRow(row);
  }

  async lastVersionSeq(fn: string): Promise<number> {
    return this.sql.lastSeq.get(fn) ?? 0;
  }

  /**
   * Inserts a version and raises the function's seq counter. Throws FerryError `version-exists`
   * if the version, or another version with the same seq, is already there (the latter is two
   * uploads racing for one seq), and `function-not-found` if the function does not exist.
   */
  async createVersion(rec: VersionRecord, expected?: number): Promise<void> {
    this.db.transaction(() => {
      this.raise(rec.function, expected);
      try {
        this.sql.insertVersion.run(versionToRow(rec));
      } catch (err) {
        switch (sqliteCode(err)) {
          case 'SQLITE_CONSTRAINT_PRIMARYKEY':
            throw new FerryError('version-exists', `version ${rec.version} of function ${rec.function} already exists`, { cause: err });
          case 'SQLITE_CONSTRAINT_UNIQUE':
            throw new FerryError('version-exists', `sequence number ${rec.seq} of function ${rec.function} is already taken by another version`, { cause: err });
          case 'SQLITE_CONSTRAINT_FOREIGNKEY':
            throw new FerryError('function-not-found', `function ${rec.function} does not exist`, { cause: err });
          default:
            throw err;
        }
      }
      this.sql.bumpSeq.run(rec.seq, rec.function);
    }).immediate();
  }

  /** Replaces the version's override; throws FerryError `version-not-found` if there is no such version. */
  async setVersionOverride(fn: string, version: string, override: ConfigOverride, updatedAt: number, expected?: number): Promise<void> {
    this.db.transaction(() => {
      this.raise(fn, expected);
      const res = this.sql.setOverride.run(JSON.stringify(override), updatedAt, fn, version);
      if (res.changes === 0) throw new FerryError('version-not-found', `function ${fn} has no version ${version}`);
    }).immediate();
  }

  /** Deletes the version if present (no-op otherwise). Its seq stays used; its log lines stay until pruned. */
  async deleteVersion(fn: string, version: string, expected?: number): Promise<void> {
    this.db.transaction(() => {
      this.raise(fn, expected);
      this.sql.deleteVersion.run(fn, version);
    }).immediate();
  }

  async packageInUse(sha: string): Promise<boolean> {
    return this.sql.packageInUse.get(sha) !== undefined;
  }

  /** Aliases of the function, sorted by name. */
  async listAliases(fn: string): Promise<AliasRecord[]> {
    return this.sql.listAliases.all(fn).map(aliasFromRow);
  }

  /** Creates or replaces the alias; throws FerryError `function-not-found` if the function does not exist. */
  async putAlias(rec: AliasRecord, expected?: number): Promise<void> {
    this.db.transaction(() => {
      this.raise(rec.function, expected);
      try {
        this.sql.upsertAlias.run(aliasToRow(rec));
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
          throw new FerryError('function-not-found', `function ${rec.function} does not exist`, { cause: err });
        }
        throw err;
      }
    }).immediate();
  }

  async deleteAlias(fn: string, alias: string, expected?: number): Promise<boolean> {
    return this.db.transaction(() => {
      this.raise(fn, expected);
      return this.sql.deleteAlias.run(fn, alias).changes > 0;
    }).immediate();
  }

  async setFunctionOwner(name: string, owner: string, expected?: number): Promise<void> {
    this.db.transaction(() => {
      this.raise(name, expected);
      if (this.sql.setFunctionOwner.run(owner, name).changes === 0) throw new FerryError('function-not-found', `no function named '${name}'`);
    }).immediate();
  }

  async functionRevision(name: string): Promise<number | undefined> {
    return this.sql.functionRevision.get(name);
  }

  /**
   * Raises the function's revision inside the caller's transaction: the compare-and-set of every
   * write under a function. With `expected`, only if the revision is still that (else
   * `revision-conflict`, or `function-not-found` when the function is gone); without, if the
   * function exists (the write itself then decides what a missing function means).
   */
  private raise(fn: string, expected: number | undefined): void {
    if (expected === undefined) {
      if (this.sql.raiseRevision.run(fn).changes === 0 && this.sql.isTombstoned.get(fn)) throw new FerryError('function-not-found', `no function named '${fn}'`);
      return;
    }
    if (this.sql.compareAndRaiseRevision.run(fn, expected).changes > 0) return;
    if (this.sql.functionRevision.get(fn) === undefined) throw new FerryError('function-not-found', `no function named '${fn}'`);
    throw new FerryError('revision-conflict', `function '${fn}' changed meanwhile: its revision is no longer ${expected}`);
  }

  async revision(): Promise<number> {
    return this.changes.revision();
  }

  watch(fromRevision: number): ChangeFeed {
    return this.changes.watch(fromRevision);
  }

  /** Prunes the change feed to its newest `changesKept` rows now (it also runs on a timer); answers how many went. */
  pruneChanges(): number {
    return this.changes.prune();
  }

  /** A change row with the current record of what it names (undefined when that is gone). */
  private changeOf(row: ChangeRow): Change {
    const { revision, function: fn, name } = row;
    switch (row.kind) {
      case 'function': {
        const r = this.sql.getFunction.get(fn);
        return { revision, kind: 'function', function: fn, record: r && functionFromRow(r) };
      }
      case 'version': {
        const r = this.sql.getVersion.get(fn, name);
        return { revision, kind: 'version', function: fn, version: name, record: r && versionFromRow(r) };
      }
      case 'alias': {
        const r = this.sql.getAlias.get(fn, name);
        return { revision, kind: 'alias', function: fn, alias: name, record: r && aliasFromRow(r) };
      }
    }
  }

  /** Appends the lines in one transaction (one fsync for the batch), in array order. */
  async appendLogs(lines: LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    this.db.transaction(() => {
      for (const line of lines) this.sql.insertLog.run(logToRow(line));
    }).immediate();
  }

  /**
   * Log lines of the function in ascending id: with `afterId`, the first `limit` lines after it
   * (paging forward / following); without, the newest `limit` lines (a tail).
   */
  async queryLogs(
    fn: string,
    opts: { afterId?: number; limit: number; version?: string },
  ): Promise<Array<LogLine & { id: number }>> {
    const limit = Math.floor(opts.limit);
    // Guard, not clamp: SQLite reads a negative LIMIT as "no limit".
    if (!(limit > 0)) return [];
    const query = { fn, after: opts.afterId ?? 0, version: opts.version ?? null, limit };
    const stmt = opts.afterId === undefined ? this.sql.logsTail : this.sql.logsAfter;
    return stmt.all(query).map(logFromRow);
  }

  /**
   * Deletes lines with `time < now - maxAgeMs`, then all but the `maxLinesPerFunction` newest (by
   * id) of each function. A non-finite bound disables that rule.
   */
  async pruneLogs(opts: { maxAgeMs: number; maxLinesPerFunction: number; now: number }): Promise<void> {
    this.db.transaction(() => {
      if (Number.isFinite(opts.maxAgeMs)) this.sql.deleteLogsBefore.run(opts.now - opts.maxAgeMs);
      if (!Number.isFinite(opts.maxLinesPerFunction)) return;
      const keep = Math.max(0, Math.floor(opts.maxLinesPerFunction));
      for (const fn of this.sql.logFunctions.all()) {
        const capId = this.sql.logCapId.get(fn, keep);
        if (capId !== undefined) this.sql.deleteLogsUpTo.run(fn, capId);
      }
    }).immediate();
  }

  /** Closes the database; calling it again is a no-op. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    this.changes.close();
    // Lets SQLite refresh the planner statistics it found worth refreshing; cheap on close.
    this.db.pragma('optimize');
    this.db.close();
  }
}
