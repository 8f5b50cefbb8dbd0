/**
 * The queues on SQLite: one file (`queue.db`) in the data dir, every named queue a set of rows in
 * it. Writes are small transactions on a WAL file; settlements (ack, nak, ...) of one event-loop
 * turn share one commit. A pull that finds nothing waits: an enqueue, nak or recovery in this
 * process wakes it at once, a timer at the next not-before time or lease end, and a slow safety
 * timer (for other processes on the same file) otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Queue, Queues } from '../../core/queue.js';
import { GroupCommit } from '../../util/group-commit.js';
import { migrateQueue } from './schema.js';
import { SqliteQueue, type Settlement } from './sqlite-queue.js';

export interface SqliteQueuesOptions {
  /** Directory holding `queue.db` (created if missing). */
  dataDir: string;
  /** How long a write waits for another process's lock; default 5000 ms. */
  busyTimeoutMs?: number;
  /** Longest a waiting pull sleeps without looking (what another process enqueued); default 2000 ms. */
  safetyWakeMs?: number;
}

/** File name of the queue database inside the data dir. */
export const queueFileName = 'queue.db';

export type QueueStatements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  const fields = 'seq, id, key, data, deliveries, max_deliveries';
  const holds = 'queue = @queue AND id = @id AND holder_name = @name AND holder_session = @session AND deliveries = @deliveries';
  const bury = (where: string) =>
    db.prepare(
      `INSERT OR REPLACE INTO dead_letters (queue, id, key, data, deliveries, max_deliveries, reason, at)
       SELECT queue, id, key, data, deliveries, max_deliveries, @reason, @now FROM messages WHERE ${where}`,
    );
  return {
    enqueue: db.prepare(
      `INSERT INTO messages (queue, id, key, data, due, max_deliveries) VALUES (@queue, @id, @key, @data, @due, @max)
       ON CONFLICT (queue, id) DO NOTHING`,
    ),
    spent: db.prepare<[{ queue: string; now: number }], { id: string }>(
      `SELECT id FROM messages INDEXED BY messages_held WHERE queue = @queue AND holder_name IS NOT NULL AND due <= @now
         AND max_deliveries IS NOT NULL AND deliveries >= max_deliveries`,
    ),
    take: db.prepare<[{ queue: string; now: number; until: number; name: string; session: string; skip: string; max: number }], { seq: number; id: string; key: string; data: Buffer; deliveries: number; max_deliveries: number | null }>(
      `UPDATE messages SET holder_name = @name, holder_session = @session, due = @until, deliveries = deliveries + 1
       WHERE seq IN (
         SELECT seq FROM messages INDEXED BY messages_order WHERE queue = @queue AND due <= @now
           AND key NOT IN (SELECT value FROM json_each(@skip))
         ORDER BY seq LIMIT @max)
       RETURNING ${fields}`,
    ),
    nextDue: db.prepare<[{ queue: string; now: number }], number | null>('SELECT MIN(due) FROM messages WHERE queue = @queue AND due > @now').pluck(),
    ack: db.prepare(`DELETE FROM messages WHERE ${holds}`),
    nak: db.prepare(`UPDATE messages SET holder_name = NULL, holder_session = NULL, due = @due WHERE ${holds}`),
    renew: db.prepare(`UPDATE messages SET due = @due WHERE ${holds}`),
    buryHeld: bury(holds),
    buryId: bury('queue = @queue AND id = @id'),
    drop: db.prepare('DELETE FROM messages WHERE queue = @queue AND id = @id'),
    spentOf: db.prepare<[{ queue: string; name: string; session: string }], { id: string }>(
      `SELECT id FROM messages INDEXED BY messages_held WHERE queue = @queue AND holder_name = @name AND holder_session <> @session
         AND max_deliveries IS NOT NULL AND deliveries >= max_deliveries`,
    ),
    recover: db.prepare(
      `UPDATE messages SET holder_name = NULL, holder_session = NULL, due = @now
       WHERE queue = @queue AND holder_name = @name AND holder_session <> @session`,
    ),
    deadLetters: db.prepare<[{ queue: string; keys: string | null; before: number; limit: number }], DeadLetterRow>(
      `SELECT seq, id, key, data, deliveries, max_deliveries, reason, at FROM dead_letters
       WHERE queue = @queue AND seq < @before AND (@keys IS NULL OR key IN (SELECT value FROM json_each(@keys)))
       ORDER BY seq DESC LIMIT @limit`,
    ),
    deadLetter: db.prepare<[{ queue: string; id: string }], DeadLetterRow>(
      'SELECT seq, id, key, data, deliveries, max_deliveries, reason, at FROM dead_letters WHERE queue = @queue AND id = @id',
    ),
    unbury: db.prepare('DELETE FROM dead_letters WHERE queue = @queue AND id = @id'),
    prune: db.prepare('DELETE FROM dead_letters WHERE queue = @queue AND at < @before'),
    stats: db.prepare(
      `SELECT COUNT(*) FILTER (WHERE holder_name IS NULL AND due <= @now) AS pending,
              COUNT(*) FILTER (WHERE holder_name IS NOT NULL) AS held,
              MIN(CASE WHEN holder_name IS NULL AND due <= @now THEN due END) AS oldest
         FROM messages WHERE queue = @queue`,
    ),
  };
}

export interface DeadLetterRow {
  seq: number;
  id: string;
  key: string;
  data: Buffer;
  deliveries: number;
  max_deliveries: number | null;
  reason: string;
  at: number;
}

export class SqliteQueues implements Queues {
  readonly kind = 'sqlite';
  /** Path of the database file. */
  readonly file: string;
  readonly db: Database.Database;
  readonly sql: QueueStatements;
  readonly safetyWakeMs: number;
  /** Settlements of one event-loop turn, applied in one transaction. */
  readonly settlements: GroupCommit<Settlement, void>;
  private readonly named = new Map<string, SqliteQueue>();

  constructor(opts: SqliteQueuesOptions) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.join(opts.dataDir, queueFileName);
    this.safetyWakeMs = opts.safetyWakeMs ?? 2000;
    this.db = new Database(this.file);
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      // WAL for readers beside the writer. synchronous=OFF: a commit survives a killed process
      // (it is in the OS's cache), never waits for the disk, and neither do checkpoints; what a
      // power loss takes is made good from the records: the next start queues every queued
      // execution and pending callback again, and a lost ack or nak only delivers once more.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = OFF');
      migrateQueue(this.db);
      this.sql = prepare(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.settlements = new GroupCommit((batch) => this.settle(batch));
  }

  queue(name: string): Queue {
    let q = this.named.get(name);
    if (!q) this.named.set(name, (q = new SqliteQueue(this, name)));
    return q;
  }

  /** Wakes the pulls waiting on queue `name` in this process. */
  wake(name: string): void {
    this.named.get(name)?.wake();
  }

  private async settle(batch: Settlement[]): Promise<void[]> {
    const now = Date.now();
    const woken = new Set<string>();
    this.db.transaction(() => {
      for (const s of batch) {
        const t = { queue: s.queue, id: s.id, name: s.name, session: s.session, deliveries: s.deliveries };
        if (s.kind === 'ack') this.sql.ack.run(t);
        else if (s.kind === 'in-progress') this.sql.renew.run({ ...t, due: now + s.leaseMs });
        else if (s.kind === 'term' || (s.maxDeliveries !== null && s.deliveries >= s.maxDeliveries)) {
          // A nak on the last delivery it may have sets it aside as well.
          if (this.sql.buryHeld.run({ ...t, reason: s.kind === 'term' ? s.reason : 'max-deliveries', now }).changes) this.sql.drop.run(t);
        } else if (this.sql.nak.run({ ...t, due: now + s.delayMs }).changes) woken.add(s.queue);
      }
    }).immediate();
    for (const name of woken) this.wake(name);
    return batch.map(() => undefined);
  }

  async close(): Promise<void> {
    for (const q of this.named.values()) q.wake();
    void this.settlements.flush();
    // Let the last settlements' transaction run before the file closes.
    await new Promise<void>((r) => setImmediate(r));
    if (this.db.open) this.db.close();
  }
}
