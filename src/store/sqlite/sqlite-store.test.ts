/** SqliteStore: the Store conformance suite on real files in temp dirs, plus SQLite-only behaviour. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isFerryError } from '../../errors/index.js';
import { storeSuite, type StoreHarness } from '../store.suite.js';
import { fnRecord, versionRecord } from '../suite/fixtures.js';
import { inWorker } from '../../../test/support/in-worker.js';
import { latestSchemaVersion } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ferry-store-'));
}

/** A store in a fresh temp dir; cleanup closes every instance opened on it, then removes it. */
async function openTemp(): Promise<StoreHarness> {
  const dir = await tempDir();
  const opened = [new SqliteStore({ dataDir: dir })];
  return {
    store: opened[0]!,
    async reopen() {
      const s = new SqliteStore({ dataDir: dir });
      opened.push(s);
      return s;
    },
    async peer() {
      const s = new SqliteStore({ dataDir: dir });
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) await s.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

storeSuite('SqliteStore', openTemp);

/** Runs `body` with a temp dir that is removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await body(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Runs `body` with a raw connection to the store's database file. */
function rawDb<T>(dir: string, body: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, 'ferry.db'));
  try {
    return body(db);
  } finally {
    db.close();
  }
}

describe('SqliteStore on disk', () => {
  it('creates <dataDir>/ferry.db, making missing parent dirs, in WAL mode', () =>
    inTempDir(async (dir) => {
      const dataDir = path.join(dir, 'a', 'b');
      const store = new SqliteStore({ dataDir });
      assert.equal(store.kind, 'sqlite');
      assert.equal(store.file, path.join(dataDir, 'ferry.db'));
      await store.close();
      await store.close(); // a second close is a no-op
      assert.equal(rawDb(dataDir, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
    }));

  it('reopening the same dir keeps the data', () =>
    inTempDir(async (dir) => {
      const first = new SqliteStore({ dataDir: dir });
      await first.ensureFunction(fnRecord('f'));
      await first.createVersion(versionRecord('f', 'v1', 1));
      await first.close();
      const second = new SqliteStore({ dataDir: dir });
      try {
        assert.deepEqual(await second.getFunction('f'), fnRecord('f'));
        assert.deepEqual(await second.getVersion('f', 'v1'), versionRecord('f', 'v1', 1));
      } finally {
        await second.close();
      }
    }));

  it('two open instances on one dir see each other’s writes', () =>
    inTempDir(async (dir) => {
      const a = new SqliteStore({ dataDir: dir });
      const b = new SqliteStore({ dataDir: dir });
      try {
        await a.ensureFunction(fnRecord('f'));
        assert.deepEqual(await b.getFunction('f'), fnRecord('f'));
        await b.createVersion(versionRecord('f', 'v1', 1));
        assert.equal(await a.lastVersionSeq('f'), 1);
      } finally {
        await a.close();
        await b.close();
      }
    }));

  it('runs each migration once, however often the dir is opened', () =>
    inTempDir(async (dir) => {
      await new SqliteStore({ dataDir: dir }).close();
      const before = rawDb(dir, (db) => db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all());
      assert.equal(before.length, latestSchemaVersion);
      await new SqliteStore({ dataDir: dir }).close();
      await new SqliteStore({ dataDir: dir }).close();
      const after = rawDb(dir, (db) => db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all());
      assert.deepEqual(after, before);
    }));

  it('refuses a database whose schema is newer than the code knows, and leaves it alone', () =>
    inTempDir(async (dir) => {
      const store = new SqliteStore({ dataDir: dir });
      await store.ensureFunction(fnRecord('f'));
      await store.close();
      const future = latestSchemaVersion + 1;
      rawDb(dir, (db) => db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from-the-future', 0)`).run(future));

      assert.throws(
        () => new SqliteStore({ dataDir: dir }),
        (err: unknown) => {
          assert.ok(isFerryError(err));
          assert.equal(err.code, 'internal');
          assert.match(err.message, new RegExp(`schema version ${future}, newer than this Ferry knows \\(${latestSchemaVersion}\\)`));
          return true;
        },
      );
      const kept = rawDb(dir, (db) => ({
        version: db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get(),
        functions: db.prepare('SELECT COUNT(*) FROM functions').pluck().get(),
      }));
      assert.deepEqual(kept, { version: future, functions: 1 });
    }));

  it('enforces foreign keys on its connection', () =>
    inTempDir(async (dir) => {
      const store = new SqliteStore({ dataDir: dir });
      try {
        await store.ensureFunction(fnRecord('f'));
        await store.createVersion(versionRecord('f', 'v1', 1));
        await store.deleteFunction('f');
        // Cascade happened inside the store, so no orphan rows are left for a raw reader.
        assert.equal(rawDb(dir, (db) => db.prepare('SELECT COUNT(*) FROM versions').pluck().get()), 0);
      } finally {
        await store.close();
      }
    }));

  it('a version racing for a taken seq fails with version-exists', () =>
    inTempDir(async (dir) => {
      const store = new SqliteStore({ dataDir: dir });
      try {
        await store.ensureFunction(fnRecord('f'));
        await store.createVersion(versionRecord('f', 'v1', 1));
        await assert.rejects(store.createVersion(versionRecord('f', 'v2', 1)), (err: unknown) => {
          assert.ok(isFerryError(err));
          assert.equal(err.code, 'version-exists');
          assert.match(err.message, /sequence number 1/);
          return true;
        });
      } finally {
        await store.close();
      }
    }));

  it('two processes writing one dir: transactions that read before they write wait for each other, never fail busy', () =>
    inTempDir(async (dir) => {
      await new SqliteStore({ dataDir: dir }).close(); // migrated once, before both start
      // Two threads, each with its own connection, as two server processes on one data dir are.
      // A deferred transaction that read first and then finds another connection's commit cannot
      // wait for the lock (SQLITE_BUSY at once); an immediate one takes it at BEGIN and waits.
      const storeModule = new URL('./sqlite-store.js', import.meta.url).href;
      const fixtures = new URL('../suite/fixtures.js', import.meta.url).href;
      const worker = (k: number): Promise<string> =>
        inWorker(
          `const { SqliteStore } = await import(workerData.storeModule);
          const { fnRecord } = await import(workerData.fixtures);
          const store = new SqliteStore({ dataDir: workerData.dir });
          try {
            for (let i = 0; i < 400; i++) {
              const name = 'w' + workerData.k + '-' + i;
              await store.ensureFunction(fnRecord(name));
              await store.tombstone(name);
            }
            return 'ok';
          } finally {
            await store.close();
          }`,
          { storeModule, fixtures, dir, k },
        );
      assert.deepEqual(await Promise.all([worker(1), worker(2)]), ['ok', 'ok']);
    }));
});
