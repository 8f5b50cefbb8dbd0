/**
 * One delivery of a message from a NATS queue. Its holder is written in the message's record
 * (the `held` bucket) at delivery, and every settlement is a compare-and-set on that record's
 * revision: a holder whose message was given to someone else meanwhile (its lease ran out, its
 * node recovered it, JetStream delivered it again after the ack wait) finds a newer revision and
 * settles nothing. JetStream alone would not stop it: an ack on an old delivery's subject acks
 * the message whoever holds it now.
 *
 * The lease is this process's timer: in-progress beats keep JetStream from delivering the message
 * again while the lease runs; when it runs out the message is given back at once (a nak), or set
 * aside when that was its last allowed delivery.
 */
import type { Delivery } from '../../core/queue.js';
import type { QueueContext } from './nats-queues.js';
import { removeRecord, writeRecord } from './kv-records.js';

/** A delivered message's record in the `held` bucket. */
export interface HeldRecord {
  /** The stream sequence of the message it describes (an older message of the same id is another). */
  seq: number;
  /** Deliveries so far (Ferry's count: a message handed back unseen is not counted). */
  n: number;
  /** Holder; null once given back. */
  name: string | null;
  session: string | null;
  /** The ack subject of its latest delivery. */
  reply: string;
  max: number | null;
  /** Set aside with this reason; what is left of that is finished by whoever meets the record. */
  dead?: string;
}

/** A dead letter's record in the `dead` bucket (its `seq` is the record's revision). */
export interface DeadRecord {
  id: string;
  key: string;
  /** base64 */
  data: string;
  deliveries: number;
  max: number | null;
  reason: string;
  at: number;
}

export interface Held {
  ctx: QueueContext;
  /** The message's key in the buckets. */
  kvKey: string;
  rec: HeldRecord;
  revision: number;
  id: string;
  key: string;
  data: Buffer;
}

/**
 * Sends an ack-subject command without waiting (a beat, a message handed back unseen). A
 * connection that is gone drops it: JetStream's ack wait covers what it would have said.
 */
export function send(ctx: QueueContext, reply: string, command: string): void {
  try {
    ctx.nc.publish(reply, command);
  } catch {
    // Closed: nothing to tell.
  }
}

/** Sends an ack-subject command and waits for JetStream to take it. */
export async function tell(ctx: QueueContext, reply: string, command: string): Promise<void> {
  await ctx.nc.request(reply, command, { timeout: 10_000 });
}

/**
 * Sets a held message aside as a dead letter: the record is marked first (fencing every other
 * settlement), then the dead letter is written, then the message acknowledged (nats-server 2.9
 * keeps a terminated message in a work-queue stream, so `+TERM` would not remove it), then the
 * record removed. A crash between leaves the mark, and the next delivery finishes the rest.
 */
export async function bury(h: Held, reason: string): Promise<boolean> {
  const marked = await writeRecord(h.ctx.held, h.kvKey, { ...h.rec, dead: reason }, h.revision);
  if (marked === undefined) return false;
  await finishBurial({ ...h, rec: { ...h.rec, dead: reason }, revision: marked });
  return true;
}

export async function finishBurial(h: Held): Promise<void> {
  const { ctx, rec } = h;
  const dl: DeadRecord = { id: h.id, key: h.key, data: h.data.toString('base64'), deliveries: rec.n, max: rec.max, reason: rec.dead ?? 'max-deliveries', at: Date.now() };
  await ctx.dead.put(h.kvKey, JSON.stringify(dl));
  await tell(ctx, rec.reply, '+ACK');
  await removeRecord(ctx.jsm, ctx.layout.heldBucket, h.kvKey, h.revision);
}

export class NatsDelivery implements Delivery {
  private settled = false;
  private leaseEnd: number;
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly beat: NodeJS.Timeout;

  constructor(
    private readonly h: Held,
    private readonly leaseMs: number,
    /** Called once when this delivery is settled or its lease runs out. */
    private readonly done: (d: NatsDelivery) => void,
  ) {
    this.leaseEnd = Date.now() + leaseMs;
    this.arm();
    this.beat = setInterval(() => {
      if (!this.settled && !h.ctx.closed) send(h.ctx, h.rec.reply, '+WPI');
    }, Math.max(100, Math.floor(h.ctx.ackWaitMs / 3)));
    this.beat.unref();
  }

  get id(): string {
    return this.h.id;
  }

  get key(): string {
    return this.h.key;
  }

  get data(): Buffer {
    return this.h.data;
  }

  get deliveryCount(): number {
    return this.h.rec.n;
  }

  async ack(): Promise<void> {
    if (!this.claim()) return;
    // Removed only while still ours; then JetStream forgets the message. A crash between
    // delivers it once more (counted afresh).
    if (await removeRecord(this.h.ctx.jsm, this.h.ctx.layout.heldBucket, this.h.kvKey, this.h.revision)) await tell(this.h.ctx, this.h.rec.reply, '+ACK');
  }

  async nak(delayMs = 0): Promise<void> {
    if (!this.claim()) return;
    await this.giveBack(delayMs);
  }

  async inProgress(): Promise<void> {
    if (this.settled) return;
    this.leaseEnd = Date.now() + this.leaseMs;
    this.arm();
    await tell(this.h.ctx, this.h.rec.reply, '+WPI');
  }

  async term(reason: string): Promise<void> {
    if (!this.claim()) return;
    await bury(this.h, reason);
  }

  /** Stops the timers (the queues close); the message stays held until JetStream's ack wait. */
  drop(): void {
    this.claim();
  }

  private spent(): boolean {
    return this.h.rec.max !== null && this.h.rec.n >= this.h.rec.max;
  }

  /** Back to the queue after `delayMs`, or set aside when this was its last allowed delivery. */
  private async giveBack(delayMs: number): Promise<void> {
    if (this.spent()) {
      await bury(this.h, 'max-deliveries');
      return;
    }
    const { ctx, kvKey, rec, revision } = this.h;
    if ((await writeRecord(ctx.held, kvKey, { ...rec, name: null, session: null }, revision)) === undefined) return;
    await tell(ctx, rec.reply, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1e6) })}` : '-NAK');
  }

  private claim(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.leaseTimer);
    clearInterval(this.beat);
    this.done(this);
    return true;
  }

  private arm(): void {
    clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => {
      if (this.h.ctx.closed || !this.claim()) return;
      // Due again at once, as if its holder had given it back.
      this.giveBack(0).catch(() => {});
    }, Math.min(2 ** 31 - 1, Math.max(0, this.leaseEnd - Date.now())));
    this.leaseTimer.unref();
  }
}
