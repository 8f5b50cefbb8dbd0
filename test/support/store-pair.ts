/** For tests: two SQLite stores on one temp data dir, as two server processes would open it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** Runs `body` with two stores on one fresh data dir; closes both and removes the dir after. */
export async function withStorePair(body: (a: SqliteStore, b: SqliteStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-pair-'));
  const a = new SqliteStore({ dataDir: dir });
  const b = new SqliteStore({ dataDir: dir });
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  }
}
