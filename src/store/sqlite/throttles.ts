/** Failed-attempt counters on the embedded store. */
import type Database from 'better-sqlite3';
import type { ThrottleStore } from '../../core/store.js';
import type { ThrottleRecord } from '../../core/records.js';

interface ThrottleRow {
  key: string;
  failures: number;
  first_at: number;
  blocked_until: number;
}

export class SqliteThrottles implements ThrottleStore {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = {
      get: db.prepare<[string], ThrottleRow>('SELECT key, failures, first_at, blocked_until FROM throttles WHERE key = ?'),
      put: db.prepare<[ThrottleRow]>(
        `INSERT INTO throttles (key, failures, first_at, blocked_until) VALUES (@key, @failures, @first_at, @blocked_until)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at, blocked_until = excluded.blocked_until`,
      ),
      delete: db.prepare<[string]>('DELETE FROM throttles WHERE key = ?'),
      prune: db.prepare<[number, number]>('DELETE FROM throttles WHERE first_at < ? AND blocked_until < ?'),
    };
  }

  async get(key: string): Promise<ThrottleRecord | undefined> {
    const r = this.sql.get.get(key);
    return r && { key: r.key, failures: r.failures, firstAt: r.first_at, blockedUntil: r.blocked_until };
  }

  async put(rec: ThrottleRecord): Promise<void> {
    this.sql.put.run({ key: rec.key, failures: rec.failures, first_at: rec.firstAt, blocked_until: rec.blockedUntil });
  }

  async delete(key: string): Promise<void> {
    this.sql.delete.run(key);
  }

  async prune(before: number): Promise<void> {
    this.sql.prune.run(before, before);
  }
}
