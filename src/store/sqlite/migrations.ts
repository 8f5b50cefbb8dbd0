/**
 * Numbered schema migrations of the SQLite store. A data dir written by an older Ferry is
 * upgraded in place on open; one written by a newer Ferry is refused rather than misread.
 *
 * Rules for adding a migration: append, never edit or reorder a released one (data dirs in the
 * field already recorded it as applied), and keep versions consecutive from 1.
 */
import type Database from 'better-sqlite3';
import { FerryError } from '../../errors/index.js';

/** One schema step: SQL to run, or a function for steps SQL alone cannot express. */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Database.Database) => void);
}

/** What `migrate` did. */
export interface MigrationResult {
  /** Schema version found on open (0 for a fresh database). */
  from: number;
  /** Schema version after the run. */
  to: number;
  /** Names of the migrations applied by this run, in order. */
  applied: string[];
}

/** The schema of Ferry, oldest step first. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    up: `
      -- last_seq is the highest version seq ever used by the function. It lives on the function
      -- row (not MAX(versions.seq)) so deleting the newest version does not free its number, and
      -- it goes away with the function, so a recreated function starts again at 0.
      CREATE TABLE functions (
        name       TEXT    NOT NULL PRIMARY KEY,
        owner      TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL DEFAULT 0
      );

      CREATE TABLE versions (
        function     TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        version      TEXT    NOT NULL,
        seq          INTEGER NOT NULL,
        package_sha  TEXT    NOT NULL,
        package_size INTEGER NOT NULL,
        manifest     TEXT    NOT NULL, -- JSON Manifest
        override     TEXT    NOT NULL, -- JSON ConfigOverride
        build_log    TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (function, version)
      );
      -- 'latest' is the highest seq, so two versions sharing one would make it ambiguous.
      CREATE UNIQUE INDEX versions_function_seq ON versions(function, seq);
      -- packageInUse runs after every delete; without this it scans all versions.
      CREATE INDEX versions_package_sha ON versions(package_sha);

      CREATE TABLE aliases (
        function   TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        alias      TEXT    NOT NULL,
        target     TEXT    NOT NULL, -- JSON AliasTarget
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (function, alias)
      );

      CREATE TABLE tokens (
        id         TEXT    NOT NULL PRIMARY KEY,
        hash       TEXT    NOT NULL UNIQUE,
        prefix     TEXT    NOT NULL,
        subject    TEXT    NOT NULL,
        groups     TEXT    NOT NULL, -- JSON string[]
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      );

      -- AUTOINCREMENT so ids are never reused once pruning deleted the newest rows: followers
      -- page with afterId and must never see a new line under an id they already passed.
      -- No foreign key to functions: instances may still write lines while their function is
      -- being deleted, and a late line must not fail the whole batch.
      CREATE TABLE logs (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        time       INTEGER NOT NULL,
        function   TEXT    NOT NULL,
        version    TEXT    NOT NULL,
        instance   TEXT    NOT NULL,
        stream     TEXT    NOT NULL,
        request_id TEXT,
        line       TEXT    NOT NULL
      );
      CREATE INDEX logs_function_id ON logs(function, id);
      -- Age pruning deletes by time; without this it scans the whole table under the write lock.
      CREATE INDEX logs_time ON logs(time);
    `,
  },
  {
    version: 2,
    name: 'tenancy',
    up: `
      CREATE TABLE users (
        name          TEXT    NOT NULL PRIMARY KEY,
        password_hash TEXT,             -- scrypt; NULL: no password login
        groups        TEXT    NOT NULL, -- JSON string[]
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      );

      -- Tokens of every stored kind: api, refresh (single use, rotated) and invite (single use).
      ALTER TABLE tokens ADD COLUMN kind  TEXT NOT NULL DEFAULT 'api';
      ALTER TABLE tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
      CREATE INDEX tokens_subject ON tokens(subject, kind);

      CREATE TABLE throttles (
        key           TEXT    NOT NULL PRIMARY KEY,
        failures      INTEGER NOT NULL,
        first_at      INTEGER NOT NULL,
        blocked_until INTEGER NOT NULL
      );

      -- Functions from before users existed belong to the boot admin.
      UPDATE functions SET owner = 'singular:admin'
        WHERE owner NOT LIKE 'singular:%' AND owner NOT LIKE 'custom:%' AND owner NOT LIKE 'permission:%';
    `,
  },
  {
    version: 3,
    name: 'secrets',
    up: `
      -- Values are AES-256-GCM ciphertext (iv | tag | data); the key is not in the database.
      CREATE TABLE secrets (
        owner      TEXT    NOT NULL, -- owning group
        name       TEXT    NOT NULL,
        value      BLOB    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (owner, name)
      );
    `,
  },
  {
    version: 4,
    name: 'executions',
    up: `
      -- seq orders executions (queue order, list cursor); id is the random handle clients hold.
      CREATE TABLE executions (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT    NOT NULL UNIQUE,
        function         TEXT    NOT NULL,
        version          TEXT    NOT NULL,
        public           INTEGER NOT NULL,
        status           TEXT    NOT NULL,
        idempotency_key  TEXT,
        request          TEXT    NOT NULL, -- JSON {method, path, headers}
        request_body     BLOB,
        callback         TEXT,             -- JSON CallbackSpec
        callback_outcome TEXT,             -- JSON CallbackOutcome
        attempts         INTEGER NOT NULL DEFAULT 0,
        lost_runs        INTEGER NOT NULL DEFAULT 0,
        not_before       INTEGER NOT NULL,
        lease_node       TEXT,
        lease_boot       TEXT,
        lease_until      INTEGER,
        created_at       INTEGER NOT NULL,
        started_at       INTEGER,
        run_started_at   INTEGER,
        finished_at      INTEGER,
        result           TEXT,             -- JSON {status, headers, size}
        result_body      BLOB,             -- bodies up to 64 KiB; larger ones in execution_objects
        error            TEXT              -- JSON {code, detail}
      );
      -- The idempotency record: one execution per function and key.
      CREATE UNIQUE INDEX executions_idempotency ON executions(function, idempotency_key) WHERE idempotency_key IS NOT NULL;
      -- (status, seq): claiming walks the queued rows in order, requeueing reads the running ones.
      CREATE INDEX executions_status ON executions(status, seq);
      CREATE INDEX executions_function ON executions(function, seq);
      CREATE INDEX executions_finished ON executions(finished_at) WHERE finished_at IS NOT NULL;

      -- Large result bodies, kept apart from the records (objects).
      CREATE TABLE execution_objects (
        id   TEXT NOT NULL PRIMARY KEY REFERENCES executions(id) ON DELETE CASCADE,
        body BLOB NOT NULL
      );

      -- An execution's log lines are those with its id as request id.
      CREATE INDEX logs_request_id ON logs(request_id) WHERE request_id IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'invocation-history',
    up: `
      -- Recent invocations, sync and async, written in batches off the request path and kept
      -- per function up to a bound. Payloads only for functions with recordPayloads.
      CREATE TABLE invocations (
        id            TEXT    NOT NULL PRIMARY KEY,
        seq           INTEGER NOT NULL UNIQUE, -- insertion order, for paging newest first
        time          INTEGER NOT NULL,
        function      TEXT    NOT NULL,
        version       TEXT    NOT NULL,
        kind          TEXT    NOT NULL, -- sync | async
        status        INTEGER NOT NULL,
        duration_ms   REAL    NOT NULL,
        request_id    TEXT    NOT NULL,
        execution_id  TEXT,
        method        TEXT    NOT NULL,
        path          TEXT    NOT NULL,
        request_body  BLOB,
        response_body BLOB,
        truncated     INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX invocations_function_seq ON invocations(function, seq);
      CREATE INDEX invocations_time ON invocations(time);
    `,
  },
  {
    version: 6,
    name: 'schedules',
    up: `
      -- Cron schedules that create executions. next_run is when the next one is due; a
      -- next_run in the past at start is a run missed while the server was down.
      CREATE TABLE schedules (
        function     TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        id           TEXT    NOT NULL,
        cron         TEXT    NOT NULL,
        timezone     TEXT,
        body         BLOB    NOT NULL,
        content_type TEXT    NOT NULL,
        created_by   TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        last_run     INTEGER,
        next_run     INTEGER,
        PRIMARY KEY (function, id)
      );
    `,
  },
  {
    version: 7,
    name: 'objects',
    up: `
      -- The index of per-function objects; the content lives in <data-dir>/objects/ under its
      -- sha256, shared by every key with the same content.
      CREATE TABLE objects (
        function     TEXT    NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
        key          TEXT    NOT NULL,
        sha256       TEXT    NOT NULL,
        size         INTEGER NOT NULL,
        content_type TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (function, key)
      );
      -- A blob goes when the last key using it does; this answers "still used?".
      CREATE INDEX objects_sha256 ON objects(sha256);
    `,
  },
  {
    version: 8,
    name: 'change-feed',
    up: `
      -- The change feed (Store.watch): one row per change to a function, version or alias,
      -- written by triggers in the transaction of the change itself, so every writer (another
      -- server process, a cascade, a later migration) feeds it. revision is store-wide and never
      -- reused (AUTOINCREMENT); readers fetch the current record of each changed key.
      CREATE TABLE changes (
        revision INTEGER PRIMARY KEY AUTOINCREMENT,
        kind     TEXT    NOT NULL, -- function | version | alias
        function TEXT    NOT NULL,
        name     TEXT    NOT NULL  -- the version or alias; '' for the function itself
      );
      -- The compare-and-set token of a function: every write under it raises it (Store.functionRevision).
      ALTER TABLE functions ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    ` +
      changeTriggers('functions', 'function', 'name', undefined) +
      changeTriggers('versions', 'version', 'function', 'version') +
      changeTriggers('aliases', 'alias', 'function', 'alias'),
  },
  {
    version: 9,
    name: 'key-ids',
    up: `
      -- The key of the secrets key set a value is sealed with; NULL: the set's first key, the
      -- only one before key sets (so values sealed by an older Ferry open as before).
      ALTER TABLE secrets ADD COLUMN key_id TEXT;
    `,
  },
  {
    version: 10,
    name: 'tombstones',
    up: `
      -- A deleted function keeps its row, marked, until the sweeper has removed its versions,
      -- aliases, schedules, objects, executions and log lines, each on its own, and then the row:
      -- deletes a key-value store can do, not one cascade. deleted_shas: the package shas its
      -- versions used (JSON), kept for the sweep that removes them, even after a crash.
      ALTER TABLE functions ADD COLUMN deleted_at INTEGER;
      ALTER TABLE functions ADD COLUMN deleted_shas TEXT;
    `,
  },
];

/**
 * The triggers that write a `changes` row for each insert, update and delete of `table`: the
 * `kind`, the function (`fnColumn`) and the version or alias (`nameColumn`, '' for none).
 */
function changeTriggers(table: string, kind: string, fnColumn: string, nameColumn: string | undefined): string {
  return (['INSERT', 'UPDATE', 'DELETE'] as const)
    .map((event) => {
      const row = event === 'DELETE' ? 'OLD' : 'NEW';
      const name = nameColumn ? `${row}.${nameColumn}` : "''";
      return `
      CREATE TRIGGER ${table}_${event.toLowerCase()}_change AFTER ${event} ON ${table} BEGIN
        INSERT INTO changes (kind, function, name) VALUES ('${kind}', ${row}.${fnColumn}, ${name});
      END;`;
    })
    .join('');
}

/** Schema version this code writes and understands. */
export const latestSchemaVersion = migrations.length;

/** Throws unless versions run 1, 2, 3, ... in order: a gap or duplicate is a programming error. */
function checkList(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new FerryError('internal', `schema migration list is malformed: entry ${i} ('${m.name}') has version ${m.version}, expected ${i + 1}`);
    }
  });
}

/** Highest applied schema version recorded in the database (0 when none). */
export function schemaVersion(db: Database.Database): number {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  if (!table) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings the schema up to the newest of `list`, in one transaction: either every pending step
 * is applied and recorded in `schema_migrations`, or none is. Refuses (FerryError `internal`) a
 * database whose schema is newer than `list` knows, without touching it.
 */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations, now: () => number = Date.now): MigrationResult {
  checkList(list);
  const latest = list.length;

  // Foreign keys are off while migrating so that a later step may rebuild a table (SQLite's
  // create-copy-drop-rename procedure) without cascading deletes into its children; integrity is
  // checked once at the end instead. The pragma is a no-op inside a transaction, hence out here.
  const fkBefore = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    const run = db.transaction((): MigrationResult => {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at INTEGER NOT NULL
      )`);
      const from = schemaVersion(db);
      if (from > latest) {
        throw new FerryError(
          'internal',
          `the database ${db.name} has schema version ${from}, newer than this Ferry knows (${latest}); ` +
            'it was written by a newer release: upgrade Ferry, or point it at another data dir',
        );
      }
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      const applied: string[] = [];
      for (const m of list.slice(from)) {
        if (typeof m.up === 'string') db.exec(m.up);
        else m.up(db);
        record.run(m.version, m.name, now());
        applied.push(m.name);
      }
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) {
        throw new FerryError('internal', `schema migration left ${broken.length} rows violating foreign keys; rolled back`);
      }
      return { from, to: Math.max(from, latest), applied };
    });
    // IMMEDIATE takes the write lock before reading the version, so two processes opening the
    // same fresh data dir at once apply each step once: the second waits and then finds it done.
    return run.immediate();
  } finally {
    db.pragma(`foreign_keys = ${fkBefore ? 'ON' : 'OFF'}`);
  }
}
