/**
 * Every SQL statement of the SQLite store, prepared once per connection: preparing is the costly
 * part of a query, and the store runs the same few dozen shapes over and over.
 */
import type Database from 'better-sqlite3';
import type { AliasRow, FunctionRow, LogRow, VersionRow } from './rows.js';

const versionColumns =
  'function, version, seq, package_sha, package_size, manifest, override, build_log, created_at, updated_at';
const logColumns = 'id, time, function, version, instance, stream, request_id, line';

/** Named parameters of the log query; `version` null matches every version. */
interface LogQuery {
  fn: string;
  after: number;
  version: string | null;
  limit: number;
}

/** Prepares the store's statements on `db`, whose schema must already be migrated. */
export function prepareStatements(db: Database.Database) {
  return {
    listFunctions: db.prepare<[], FunctionRow>('SELECT name, owner, created_at FROM functions WHERE deleted_at IS NULL ORDER BY name'),
    getFunction: db.prepare<[string], FunctionRow>('SELECT name, owner, created_at FROM functions WHERE name = ? AND deleted_at IS NULL'),
    tombstone: db.prepare<[number, string, string]>('UPDATE functions SET deleted_at = ?, deleted_shas = ? WHERE name = ? AND deleted_at IS NULL'),
    tombstones: db.prepare<[], string>('SELECT name FROM functions WHERE deleted_at IS NOT NULL ORDER BY name').pluck(),
    tombstoneShas: db.prepare<[string], string>('SELECT deleted_shas FROM functions WHERE name = ? AND deleted_at IS NOT NULL').pluck(),
    deleteTombstone: db.prepare<[string]>('DELETE FROM functions WHERE name = ? AND deleted_at IS NOT NULL'),
    deleteFunctionAliases: db.prepare<[string]>('DELETE FROM aliases WHERE function = ?'),
    deleteFunctionVersions: db.prepare<[string]>('DELETE FROM versions WHERE function = ?'),
    deleteFunctionSchedules: db.prepare<[string]>('DELETE FROM schedules WHERE function = ?'),
    setFunctionOwner: db.prepare<[string, string]>('UPDATE functions SET owner = ? WHERE name = ?'),
    insertFunction: db.prepare<[FunctionRow]>(
      'INSERT INTO functions (name, owner, created_at) VALUES (@name, @owner, @created_at) ON CONFLICT (name) DO NOTHING',
    ),
    deleteFunction: db.prepare<[string]>('DELETE FROM functions WHERE name = ?'),
    functionRevision: db.prepare<[string], number>('SELECT revision FROM functions WHERE name = ? AND deleted_at IS NULL').pluck(),
    isTombstoned: db.prepare<[string], number>('SELECT 1 FROM functions WHERE name = ? AND deleted_at IS NOT NULL').pluck(),
    raiseRevision: db.prepare<[string]>('UPDATE functions SET revision = revision + 1 WHERE name = ? AND deleted_at IS NULL'),
    compareAndRaiseRevision: db.prepare<[string, number]>('UPDATE functions SET revision = revision + 1 WHERE name = ? AND revision = ? AND deleted_at IS NULL'),
    functionShas: db
      .prepare<[string], string>('SELECT DISTINCT package_sha FROM versions WHERE function = ? ORDER BY package_sha')
      .pluck(),
    lastSeq: db.prepare<[string], number>('SELECT last_seq FROM functions WHERE name = ?').pluck(),
    // MAX, not plain assignment: versions may be created out of seq order (e.g. an import).
    bumpSeq: db.prepare<[number, string]>('UPDATE functions SET last_seq = MAX(last_seq, ?) WHERE name = ?'),

    listVersions: db.prepare<[string], VersionRow>(`SELECT ${versionColumns} FROM versions WHERE function = ? ORDER BY seq`),
    getVersion: db.prepare<[string, string], VersionRow>(
      `SELECT ${versionColumns} FROM versions WHERE function = ? AND version = ?`,
    ),
    insertVersion: db.prepare<[VersionRow]>(
      `INSERT INTO versions (${versionColumns}) VALUES (@function, @version, @seq, @package_sha, @package_size,
        @manifest, @override, @build_log, @created_at, @updated_at)`,
    ),
    setOverride: db.prepare<[string, number, string, string]>(
      'UPDATE versions SET override = ?, updated_at = ? WHERE function = ? AND version = ?',
    ),
    deleteVersion: db.prepare<[string, string]>('DELETE FROM versions WHERE function = ? AND version = ?'),
    packageInUse: db.prepare<[string], number>('SELECT 1 FROM versions WHERE package_sha = ? LIMIT 1').pluck(),

    listAliases: db.prepare<[string], AliasRow>(
      'SELECT function, alias, target, updated_at FROM aliases WHERE function = ? ORDER BY alias',
    ),
    upsertAlias: db.prepare<[AliasRow]>(
      `INSERT INTO aliases (function, alias, target, updated_at) VALUES (@function, @alias, @target, @updated_at)
       ON CONFLICT (function, alias) DO UPDATE SET target = excluded.target, updated_at = excluded.updated_at`,
    ),
    getAlias: db.prepare<[string, string], AliasRow>('SELECT function, alias, target, updated_at FROM aliases WHERE function = ? AND alias = ?'),
    deleteAlias: db.prepare<[string, string]>('DELETE FROM aliases WHERE function = ? AND alias = ?'),

    insertLog: db.prepare<[Omit<LogRow, 'id'>]>(
      `INSERT INTO logs (time, function, version, instance, stream, request_id, line)
       VALUES (@time, @function, @version, @instance, @stream, @request_id, @line)`,
    ),
    logsAfter: db.prepare<[LogQuery], LogRow>(
      `SELECT ${logColumns} FROM logs
       WHERE function = @fn AND id > @after AND (@version IS NULL OR version = @version)
       ORDER BY id LIMIT @limit`,
    ),
    // The newest `limit` lines, read backwards along the (function, id) index, then re-sorted.
    logsTail: db.prepare<[LogQuery], LogRow>(
      `SELECT * FROM (
         SELECT ${logColumns} FROM logs
         WHERE function = @fn AND id > @after AND (@version IS NULL OR version = @version)
         ORDER BY id DESC LIMIT @limit
       ) ORDER BY id`,
    ),
    deleteFunctionLogs: db.prepare<[string]>('DELETE FROM logs WHERE function = ?'),
    deleteLogsBefore: db.prepare<[number]>('DELETE FROM logs WHERE time < ?'),
    // Distinct functions by skip-scan: one index seek per function instead of reading every line.
    logFunctions: db
      .prepare<[], string>(
        `WITH RECURSIVE f(name) AS (
           SELECT MIN(function) FROM logs
           UNION ALL
           SELECT (SELECT MIN(function) FROM logs WHERE function > f.name) FROM f WHERE f.name IS NOT NULL
         ) SELECT name FROM f WHERE name IS NOT NULL`,
      )
      .pluck(),
    // Id of the newest line past the cap: it and everything older of the function go.
    logCapId: db
      .prepare<[string, number], number>('SELECT id FROM logs WHERE function = ? ORDER BY id DESC LIMIT 1 OFFSET ?')
      .pluck(),
    deleteLogsUpTo: db.prepare<[string, number]>('DELETE FROM logs WHERE function = ? AND id <= ?'),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
