/** The migration runner on in-memory databases: ordering, idempotence, atomicity, refusal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isFerryError } from '../../errors/index.js';
import { latestSchemaVersion, migrate, migrations, schemaVersion, type Migration } from './migrations.js';

const tables = (db: Database.Database): string[] =>
  db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all();

function withDb(body: (db: Database.Database) => void): void {
  const db = new Database(':memory:');
  try {
    body(db);
  } finally {
    db.close();
  }
}

describe('migrations', () => {
  it('the shipped list is numbered 1..n and creates the documented tables', () =>
    withDb((db) => {
      assert.deepEqual(migrations.map((m) => m.version), migrations.map((_, i) => i + 1));
      const res = migrate(db);
      assert.deepEqual(res, { from: 0, to: latestSchemaVersion, applied: migrations.map((m) => m.name) });
      assert.deepEqual(tables(db), ['aliases', 'changes', 'execution_objects', 'executions', 'functions', 'invocations', 'logs', 'objects', 'schedules', 'schema_migrations', 'secrets', 'throttles', 'tokens', 'users', 'versions']);
      assert.equal(schemaVersion(db), latestSchemaVersion);
    }));

  it('tenancy upgrade: old tokens become API tokens, functions of no group go to the boot admin', () =>
    withDb((db) => {
      migrate(db, migrations.slice(0, 1));
      db.prepare("INSERT INTO functions (name, owner, created_at) VALUES ('f', 'admin', 1), ('g', 'singular:bob', 1)").run();
      db.prepare("INSERT INTO tokens (id, hash, prefix, subject, groups, created_at) VALUES ('t', 'h', 'p', 'admin', '[\"root\"]', 1)").run();
      migrate(db);
      assert.deepEqual(db.prepare('SELECT name, owner FROM functions ORDER BY name').all(), [{ name: 'f', owner: 'singular:admin' }, { name: 'g', owner: 'singular:bob' }]);
      assert.deepEqual(db.prepare('SELECT kind, label FROM tokens').all(), [{ kind: 'api', label: '' }]);
    }));

  it('runs each step once: a second run applies nothing', () =>
    withDb((db) => {
      let calls = 0;
      const list: Migration[] = [
        { version: 1, name: 'one', up: 'CREATE TABLE t (x INTEGER)' },
        { version: 2, name: 'two', up: () => void calls++ },
      ];
      assert.deepEqual(migrate(db, list).applied, ['one', 'two']);
      assert.deepEqual(migrate(db, list), { from: 2, to: 2, applied: [] });
      assert.equal(calls, 1);
    }));

  it('upgrades in place: only the new steps run, and data is kept', () =>
    withDb((db) => {
      const v1: Migration[] = [{ version: 1, name: 'create', up: 'CREATE TABLE t (x INTEGER)' }];
      migrate(db, v1);
      db.prepare('INSERT INTO t (x) VALUES (41)').run();
      const v2: Migration[] = [
        ...v1,
        { version: 2, name: 'add-column', up: 'ALTER TABLE t ADD COLUMN y INTEGER NOT NULL DEFAULT 0' },
        { version: 3, name: 'backfill', up: (d) => void d.prepare('UPDATE t SET y = x + 1').run() },
      ];
      assert.deepEqual(migrate(db, v2), { from: 1, to: 3, applied: ['add-column', 'backfill'] });
      assert.deepEqual(db.prepare('SELECT x, y FROM t').all(), [{ x: 41, y: 42 }]);
    }));

  it('a failing step rolls back the whole run', () =>
    withDb((db) => {
      const list: Migration[] = [
        { version: 1, name: 'ok', up: 'CREATE TABLE t (x INTEGER)' },
        { version: 2, name: 'broken', up: 'CREATE TABLE oops (' },
      ];
      assert.throws(() => migrate(db, list));
      assert.equal(schemaVersion(db), 0);
      assert.deepEqual(tables(db), []);
    }));

  it('refuses a database newer than the list, without changing it', () =>
    withDb((db) => {
      const list: Migration[] = [
        { version: 1, name: 'one', up: 'CREATE TABLE t (x INTEGER)' },
        { version: 2, name: 'two', up: 'CREATE TABLE u (x INTEGER)' },
      ];
      migrate(db, list);
      assert.throws(
        () => migrate(db, list.slice(0, 1)),
        (err: unknown) => isFerryError(err) && err.code === 'internal' && /schema version 2, newer than this Ferry knows \(1\)/.test(err.message),
      );
      assert.equal(schemaVersion(db), 2);
    }));

  it('refuses a malformed list', () =>
    withDb((db) => {
      const gap: Migration[] = [
        { version: 1, name: 'one', up: 'SELECT 1' },
        { version: 3, name: 'three', up: 'SELECT 1' },
      ];
      assert.throws(() => migrate(db, gap), /entry 1 \('three'\) has version 3, expected 2/);
      assert.equal(schemaVersion(db), 0);
    }));

  it('restores the foreign_keys setting it found', () =>
    withDb((db) => {
      db.pragma('foreign_keys = ON');
      migrate(db);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    }));

  it('refuses a step that leaves foreign keys broken', () =>
    withDb((db) => {
      const list: Migration[] = [
        {
          version: 1,
          name: 'orphan',
          up: `CREATE TABLE p (id INTEGER PRIMARY KEY);
               CREATE TABLE c (p INTEGER REFERENCES p(id));
               INSERT INTO c (p) VALUES (7);`,
        },
      ];
      assert.throws(() => migrate(db, list), /violating foreign keys/);
      assert.deepEqual(tables(db), []);
    }));
});
