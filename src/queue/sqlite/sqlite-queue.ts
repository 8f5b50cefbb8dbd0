/** One named queue on the SQLite queue file (see `sqlite-queues.ts`). */
import type { DeadLetter, DeadLetterQuery, Delivery, PullRequest, Queue, QueueConsumer, QueueMessage, QueueStats } from '../../core/queue.js';
import type { DeadLetterRow, SqliteQueues } from './sqlite-queues.js';

/** What a delivery's holder asks of its message; applied only while the holder still has it. */
export type Settlement = { queue: string; id: string; name: string; session: string; deliveries: number; maxDeliveries: number | null } & (
  | { kind: 'ack' }
  | { kind: 'nak'; delayMs: number }
  | { kind: 'in-progress'; leaseMs: number }
  | { kind: 'term'; reason: string }
);

type Holder = Omit<Settlement, 'kind'>;

class SqliteDelivery implements Delivery {
  constructor(
    private readonly owner: SqliteQueues,
    private readonly holder: Holder,
    readonly key: string,
    readonly data: Buffer,
    private readonly leaseMs: number,
  ) {}

  get id(): string {
    return this.holder.id;
  }

  get deliveryCount(): number {
    return this.holder.deliveries;
  }

  ack(): Promise<void> {
    return this.owner.settlements.add({ ...this.holder, kind: 'ack' });
  }

  nak(delayMs = 0): Promise<void> {
    return this.owner.settlements.add({ ...this.holder, kind: 'nak', delayMs: Math.max(0, delayMs) });
  }

  inProgress(): Promise<void> {
    return this.owner.settlements.add({ ...this.holder, kind: 'in-progress', leaseMs: this.leaseMs });
  }

  term(reason: string): Promise<void> {
    return this.owner.settlements.add({ ...this.holder, kind: 'term', reason });
  }
}

const deadLetterOf = (r: DeadLetterRow): DeadLetter => ({ id: r.id, key: r.key, data: r.data, deliveries: r.deliveries, reason: r.reason, at: r.at, seq: r.seq });

export class SqliteQueue implements Queue {
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly owner: SqliteQueues,
    private readonly name: string,
  ) {}

  async stats(): Promise<QueueStats> {
    // Prepared once with the others: it runs on every metrics scrape and scaler tick.
    const row = this.owner.sql.stats.get({ queue: this.name, now: Date.now() }) as { pending: number; held: number; oldest: number | null };
    return { pending: row.pending, held: row.held, oldestPendingAt: row.oldest ?? undefined };
  }

  async enqueue(messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const now = Date.now();
    const { db, sql } = this.owner;
    db.transaction(() => {
      for (const m of messages) sql.enqueue.run({ queue: this.name, id: m.id, key: m.key, data: m.data, due: m.notBefore ?? now, max: m.maxDeliveries ?? null });
    }).immediate();
    this.wake();
  }

  async pull(req: PullRequest): Promise<Delivery[]> {
    const deadline = Date.now() + (req.waitMs ?? 0);
    for (;;) {
      const got = this.take(req);
      const now = Date.now();
      if (got.length > 0 || now >= deadline || req.signal?.aborted || !this.owner.db.open) return got;
      // Nothing due for this pull: sleep until something in this process changes, the next
      // message falls due, or the safety interval passes.
      const next = this.owner.sql.nextDue.get({ queue: this.name, now }) ?? Infinity;
      await this.sleep(Math.min(deadline, next, now + this.owner.safetyWakeMs) - now, req.signal);
    }
  }

  private take(req: PullRequest): Delivery[] {
    const max = Math.floor(req.max);
    if (!(max > 0) || !this.owner.db.open) return [];
    const { db, sql } = this.owner;
    const now = Date.now();
    const rows = db.transaction(() => {
      // Leases that ran out on their last allowed delivery: set aside, not delivered again.
      for (const { id } of sql.spent.all({ queue: this.name, now })) {
        sql.buryId.run({ queue: this.name, id, reason: 'max-deliveries', now });
        sql.drop.run({ queue: this.name, id });
      }
      const skip = JSON.stringify(req.skipKeys ?? []);
      return sql.take.all({ queue: this.name, now, until: now + req.leaseMs, name: req.consumer.name, session: req.consumer.session, skip, max });
    }).immediate();
    // RETURNING gives no order guarantee.
    rows.sort((a, b) => a.seq - b.seq);
    return rows.map(
      (r) =>
        new SqliteDelivery(
          this.owner,
          { queue: this.name, id: r.id, name: req.consumer.name, session: req.consumer.session, deliveries: r.deliveries, maxDeliveries: r.max_deliveries },
          r.key,
          r.data,
          req.leaseMs,
        ),
    );
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiting.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Something may have become due: the waiting pulls look again. */
  wake(): void {
    for (const done of [...this.waiting]) done();
  }

  async recover(consumer: QueueConsumer): Promise<number> {
    const { db, sql } = this.owner;
    const now = Date.now();
    const n = db.transaction(() => {
      const c = { queue: this.name, name: consumer.name, session: consumer.session };
      for (const { id } of sql.spentOf.all(c)) {
        sql.buryId.run({ queue: this.name, id, reason: 'max-deliveries', now });
        sql.drop.run({ queue: this.name, id });
      }
      return sql.recover.run({ ...c, now }).changes;
    }).immediate();
    if (n > 0) this.wake();
    return n;
  }

  async deadLetters(q: DeadLetterQuery): Promise<DeadLetter[]> {
    const limit = Math.floor(q.limit);
    if (!(limit > 0)) return [];
    const rows = this.owner.sql.deadLetters.all({ queue: this.name, keys: q.keys === undefined ? null : JSON.stringify(q.keys), before: q.before ?? Number.MAX_SAFE_INTEGER, limit });
    return rows.map(deadLetterOf);
  }

  async deadLetter(id: string): Promise<DeadLetter | undefined> {
    const r = this.owner.sql.deadLetter.get({ queue: this.name, id });
    return r && deadLetterOf(r);
  }

  async redrive(id: string, notBefore?: number): Promise<boolean> {
    const { db, sql } = this.owner;
    const done = db.transaction(() => {
      const r = sql.deadLetter.get({ queue: this.name, id });
      if (!r) return false;
      sql.unbury.run({ queue: this.name, id });
      sql.enqueue.run({ queue: this.name, id, key: r.key, data: r.data, due: notBefore ?? Date.now(), max: r.max_deliveries });
      return true;
    }).immediate();
    if (done) this.wake();
    return done;
  }

  async pruneDeadLetters(before: number): Promise<number> {
    return this.owner.sql.prune.run({ queue: this.name, before }).changes;
  }
}
