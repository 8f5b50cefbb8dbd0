/**
 * The change feed of the SQLite store. Triggers write a row to `changes` in the transaction of
 * every change to a function, version or alias, whichever process writes; a feed reads the rows
 * after its cursor with the current record of each, then waits. While a feed is open the store
 * reads the newest revision every `pollMs` (the last row of the primary key: one page, no scan)
 * and wakes the feeds when it moved; `revision()` wakes them too, so a writer that asks for the
 * revision after its write (to wait for its own change) is not held up by the poll.
 */
import type Database from 'better-sqlite3';
import type { Change, ChangeFeed } from '../../core/changes.js';

/** A row of the `changes` table. */
export interface ChangeRow {
  revision: number;
  kind: Change['kind'];
  function: string;
  /** The version or alias; '' for the function. */
  name: string;
}

/** How many rows a feed reads per query. */
const page = 256;

export class SqliteChanges {
  private readonly after: Database.Statement<[number, number], ChangeRow>;
  private readonly head: Database.Statement<[], number | null>;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The newest revision the feeds were woken for. */
  private seen = 0;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    /** The change with the current record of what the row names. */
    private readonly resolve: (row: ChangeRow) => Change,
    private readonly pollMs: number,
  ) {
    this.after = db.prepare<[number, number], ChangeRow>('SELECT revision, kind, function, name FROM changes WHERE revision > ? ORDER BY revision LIMIT ?');
    this.head = db.prepare<[], number | null>('SELECT MAX(revision) FROM changes').pluck();
  }

  revision(): number {
    const head = this.head.get() ?? 0;
    if (head > this.seen) this.wakeAll(head);
    return head;
  }

  watch(fromRevision: number): ChangeFeed {
    let stopped = false;
    let pending = true;
    let wake: (() => void) | undefined;
    const listener = (): void => {
      pending = true;
      const w = wake;
      wake = undefined;
      w?.();
    };
    this.listeners.add(listener);
    this.poll();
    const self = this;
    async function* run(): AsyncGenerator<Change> {
      let cursor = fromRevision;
      try {
        while (!stopped && !self.closed) {
          if (!pending) await new Promise<void>((resolve) => (wake = resolve));
          pending = false;
          if (stopped || self.closed) return;
          for (;;) {
            const rows = self.after.all(cursor, page);
            for (const row of rows) {
              cursor = row.revision;
              yield self.resolve(row);
              if (stopped || self.closed) return;
            }
            if (rows.length < page) break;
          }
        }
      } finally {
        self.listeners.delete(listener);
        if (self.listeners.size === 0) self.stopPolling();
      }
    }
    const iterator = run();
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: () => {
        stopped = true;
        listener();
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stopPolling();
      },
    };
  }

  /** Ends every feed; the database is about to close. */
  close(): void {
    this.closed = true;
    this.wakeAll(this.seen);
    this.stopPolling();
  }

  private wakeAll(head: number): void {
    this.seen = head;
    for (const wake of this.listeners) wake();
  }

  /** Looks for new changes (this process's or another's) while any feed is open. */
  private poll(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.db.open) this.revision();
    }, this.pollMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
