/**
 * The change feed of the SQLite store. Triggers write a row to `changes` in the transaction of
 * every change to a function, version or alias, whichever process writes; a feed reads the rows
 * after its cursor with the current record of each, then waits. While a feed is open the store
 * reads the newest revision every `pollMs` (the last row of the primary key: one page, no scan)
 * and wakes the feeds when it moved; `revision()` wakes them too, so a writer that asks for the
 * revision after its write (to wait for its own change) is not held up by the poll.
 *
 * Only the newest `kept` rows are kept (pruned every `pruneEveryMs` by whichever process has the
 * store open): a feed whose cursor falls behind the oldest kept row, whether it started there or
 * fell behind while it was read, gets a `Resync` instead of a silent gap. Revisions are never
 * reused (AUTOINCREMENT) and rows are deleted only by pruning, so the oldest kept row tells how
 * far pruning went.
 */
import type Database from 'better-sqlite3';
import type { Change, ChangeFeed, Resync } from '../../core/changes.js';

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
  private readonly oldest: Database.Statement<[], number | null>;
  private readonly dropUpTo: Database.Statement<[number]>;
  private readonly pruneTimer: NodeJS.Timeout;
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
    /** Rows kept (at least 1, so the newest revision is always known). */
    private readonly kept: number,
    pruneEveryMs: number,
  ) {
    this.after = db.prepare<[number, number], ChangeRow>('SELECT revision, kind, function, name FROM changes WHERE revision > ? ORDER BY revision LIMIT ?');
    this.head = db.prepare<[], number | null>('SELECT MAX(revision) FROM changes').pluck();
    this.oldest = db.prepare<[], number | null>('SELECT MIN(revision) FROM changes').pluck();
    this.dropUpTo = db.prepare<[number]>('DELETE FROM changes WHERE revision <= ?');
    this.pruneTimer = setInterval(() => {
      if (this.db.open) this.prune();
    }, pruneEveryMs);
    this.pruneTimer.unref();
  }

  /** Deletes every row but the newest `kept`; answers how many went. */
  prune(): number {
    const head = this.head.get() ?? 0;
    const upTo = head - Math.max(1, this.kept);
    return upTo > 0 && (this.oldest.get() ?? Infinity) <= upTo ? this.dropUpTo.run(upTo).changes : 0;
  }

  /** The newest revision whose row may be gone: a cursor below it has missed changes. */
  private prunedUpTo(): number {
    const oldest = this.oldest.get();
    return oldest == null ? 0 : oldest - 1;
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
    async function* run(): AsyncGenerator<Change | Resync> {
      let cursor = fromRevision;
      try {
        while (!stopped && !self.closed) {
          if (!pending) await new Promise<void>((resolve) => (wake = resolve));
          pending = false;
          if (stopped || self.closed) return;
          for (;;) {
            // One read transaction: another process's prune cannot fall between the look and the page.
            const { pruned, rows } = self.db.transaction(() => ({ pruned: self.prunedUpTo(), rows: self.after.all(cursor, page) }))();
            if (cursor < pruned) {
              yield { kind: 'resync', revision: pruned };
              return;
            }
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
    clearInterval(this.pruneTimer);
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
