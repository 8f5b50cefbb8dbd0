/**
 * The queue database's schema, versioned by `PRAGMA user_version` (its own file, apart from the
 * metadata store's, so the queue can move to another backend on its own).
 */
import type Database from 'better-sqlite3';
import { FerryError } from '../../errors/index.js';

const steps: string[] = [
  `
  -- One row per message waiting or held. due is when it may be delivered: its not-before time
  -- while it waits, its lease's end while someone holds it (so a lease that ran out is due again).
  CREATE TABLE messages (
    seq            INTEGER PRIMARY KEY,                -- delivery order: first enqueue (no AUTOINCREMENT: one write less per message)
    queue          TEXT NOT NULL,
    id             TEXT NOT NULL,
    key            TEXT NOT NULL,
    data           BLOB NOT NULL,
    due            INTEGER NOT NULL,
    holder_name    TEXT,                               -- NULL while it waits
    holder_session TEXT,
    deliveries     INTEGER NOT NULL DEFAULT 0,
    max_deliveries INTEGER,                            -- NULL: no limit
    UNIQUE (queue, id)
  );
  -- Few indexes: each is written by every enqueue, pull and settlement. The next due time is
  -- looked for only when a pull found nothing, so it does without one.
  CREATE INDEX messages_order ON messages(queue, seq);
  CREATE INDEX messages_held ON messages(queue, due) WHERE holder_name IS NOT NULL;
  CREATE TABLE dead_letters (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and cursor
    queue          TEXT NOT NULL,
    id             TEXT NOT NULL,
    key            TEXT NOT NULL,
    data           BLOB NOT NULL,
    deliveries     INTEGER NOT NULL,
    max_deliveries INTEGER,
    reason         TEXT NOT NULL,
    at             INTEGER NOT NULL,
    UNIQUE (queue, id)
  );
  CREATE INDEX dead_letters_key ON dead_letters(queue, key, seq);
  CREATE INDEX dead_letters_at ON dead_letters(queue, at);
  `,
];

/** Brings the file to the latest schema; refuses one written by a newer Ferry. */
export function migrateQueue(db: Database.Database): void {
  const at = db.pragma('user_version', { simple: true }) as number;
  if (at > steps.length) throw new FerryError('internal', `the queue database is at schema ${at}, newer than this Ferry knows (${steps.length}): upgrade Ferry`);
  for (let v = at; v < steps.length; v++) {
    db.transaction(() => {
      db.exec(steps[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
