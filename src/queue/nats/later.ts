/**
 * Messages whose not-before time is still ahead. nats-server 2.9 cannot hold a message back
 * (no scheduled or per-message-delayed publishes), and a message put in the stream and naked
 * until due would count deliveries and hide the queue's real order, so they wait in the `later`
 * bucket instead. Every process using the queue watches the bucket and moves each message into
 * the stream when it falls due; processes racing to move one publish it under one message id
 * (JetStream drops the copy) and the stream holds one message per id anyway.
 */
import type { KvWatchEntry } from '@nats-io/kv';
import type { QueueMessage } from '../../core/queue.js';
import type { QueueContext } from './nats-queues.js';
import { readRecord, removeRecord, writeRecord } from './kv-records.js';

interface LaterRecord {
  id: string;
  key: string;
  /** base64 */
  data: string;
  notBefore: number;
  max: number | null;
}

export class LaterMessages {
  /** What this process knows is waiting, by bucket key. */
  private readonly due = new Map<string, { at: number; revision: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: QueueContext,
    private readonly name: string,
    /** Puts a due message into the stream (under `msgId`: a second publish is dropped). */
    private readonly publish: (m: QueueMessage, msgId: string) => Promise<void>,
  ) {}

  /** Starts following the bucket (what other processes put there, and what a crash left). */
  async start(): Promise<void> {
    const w = await this.ctx.later.watch({ key: this.ctx.layout.keys(this.name) });
    this.stopWatch = () => w.stop();
    if (this.stopped) return w.stop();
    void (async () => {
      for await (const e of w) this.seen(e);
    })().catch(() => {});
  }

  /** Holds `messages` until their not-before times; an id already held is not added again. */
  async add(messages: QueueMessage[]): Promise<void> {
    await Promise.all(
      messages.map(async (m) => {
        const rec: LaterRecord = { id: m.id, key: m.key, data: m.data.toString('base64'), notBefore: m.notBefore ?? 0, max: m.maxDeliveries ?? null };
        const k = this.ctx.layout.key(this.name, m.id);
        const revision = await writeRecord(this.ctx.later, k, rec, undefined);
        if (revision !== undefined) this.note(k, rec.notBefore, revision);
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopWatch?.();
  }

  private seen(e: KvWatchEntry): void {
    if (e.operation !== 'PUT') this.due.delete(e.key);
    else this.note(e.key, e.json<LaterRecord>().notBefore, e.revision);
  }

  private note(key: string, at: number, revision: number): void {
    const known = this.due.get(key);
    if (known && known.revision >= revision) return;
    this.due.set(key, { at, revision });
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    let next = Infinity;
    for (const { at } of this.due.values()) next = Math.min(next, at);
    if (next === Infinity) return;
    this.timer = setTimeout(() => void this.move(), Math.min(2 ** 31 - 1, Math.max(0, next - Date.now())));
    this.timer.unref();
  }

  /** Moves what fell due into the stream; what failed is tried again a second later. */
  private async move(): Promise<void> {
    const now = Date.now();
    const ready = [...this.due].filter(([, d]) => d.at <= now);
    for (const [k] of ready) this.due.delete(k);
    await Promise.all(
      ready.map(async ([k, d]) => {
        try {
          const cur = await readRecord<LaterRecord>(this.ctx.later, k);
          // Moved (or replaced) by someone else meanwhile.
          if (!cur || cur.revision !== d.revision) return;
          const r = cur.value;
          await this.publish({ id: r.id, key: r.key, data: Buffer.from(r.data, 'base64'), ...(r.max !== null ? { maxDeliveries: r.max } : {}) }, `${k}@${d.revision}`);
          await removeRecord(this.ctx.jsm, this.ctx.layout.laterBucket, k, d.revision);
        } catch {
          if (!this.stopped) this.note(k, Date.now() + 1000, d.revision);
        }
      }),
    );
    this.arm();
  }
}
