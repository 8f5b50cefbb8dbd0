/** Cron schedules on the embedded store. */
import type Database from 'better-sqlite3';
import type { ScheduleStore } from '../../core/store.js';
import type { ScheduleRecord } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';

interface Row {
  function: string;
  id: string;
  cron: string;
  timezone: string | null;
  body: Buffer;
  content_type: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  last_run: number | null;
  next_run: number | null;
}

const fromRow = (r: Row): ScheduleRecord => ({
  function: r.function,
  id: r.id,
  cron: r.cron,
  timezone: r.timezone,
  body: r.body,
  contentType: r.content_type,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastRun: r.last_run,
  nextRun: r.next_run,
});

export class SqliteSchedules implements ScheduleStore {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = {
      put: db.prepare<[Row]>(
        `INSERT INTO schedules (function, id, cron, timezone, body, content_type, created_by, created_at, updated_at, last_run, next_run)
         VALUES (@function, @id, @cron, @timezone, @body, @content_type, @created_by, @created_at, @updated_at, @last_run, @next_run)
         ON CONFLICT (function, id) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, body = excluded.body,
           content_type = excluded.content_type, updated_at = excluded.updated_at, next_run = excluded.next_run`,
      ),
      get: db.prepare<[string, string], Row>('SELECT * FROM schedules WHERE function = ? AND id = ?'),
      all: db.prepare<[], Row>('SELECT * FROM schedules ORDER BY function, id'),
      byFunction: db.prepare<[string], Row>('SELECT * FROM schedules WHERE function = ? ORDER BY id'),
      delete: db.prepare<[string, string]>('DELETE FROM schedules WHERE function = ? AND id = ?'),
      tombstoned: db.prepare<[string], number>('SELECT 1 FROM functions WHERE name = ? AND deleted_at IS NOT NULL').pluck(),
      advance: db.prepare<[number, number | null, string, string, number | null]>('UPDATE schedules SET last_run = ?, next_run = ? WHERE function = ? AND id = ? AND next_run IS ?'),
    };
  }

  async put(rec: ScheduleRecord): Promise<void> {
    // A deleted function's row stays until it is swept: it takes no new schedule meanwhile.
    if (this.sql.tombstoned.get(rec.function)) throw new FerryError('function-not-found', `no function named '${rec.function}'`);
    try {
      this.sql.put.run({
        function: rec.function,
        id: rec.id,
        cron: rec.cron,
        timezone: rec.timezone,
        body: rec.body,
        content_type: rec.contentType,
        created_by: rec.createdBy,
        created_at: rec.createdAt,
        updated_at: rec.updatedAt,
        last_run: rec.lastRun,
        next_run: rec.nextRun,
      });
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new FerryError('function-not-found', `no function named '${rec.function}'`);
      throw err;
    }
  }

  async get(fn: string, id: string): Promise<ScheduleRecord | undefined> {
    const r = this.sql.get.get(fn, id);
    return r && fromRow(r);
  }

  async list(fn: string | undefined): Promise<ScheduleRecord[]> {
    return (fn === undefined ? this.sql.all.all() : this.sql.byFunction.all(fn)).map(fromRow);
  }

  async delete(fn: string, id: string): Promise<boolean> {
    return this.sql.delete.run(fn, id).changes > 0;
  }

  async advance(fn: string, id: string, expected: number | null, lastRun: number, nextRun: number | null): Promise<boolean> {
    return this.sql.advance.run(lastRun, nextRun, fn, id, expected).changes > 0;
  }
}
