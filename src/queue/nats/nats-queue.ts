/**
 * One named queue on JetStream (see `nats-queues.ts`): a work-queue stream with one subject per
 * message id and at most one message per subject (so an id already waiting or held is not added
 * twice: the server refuses the second), pulled through one durable consumer by every node.
 */
import type { Msg } from '@nats-io/transport-node';
import type { DeadLetter, DeadLetterQuery, Delivery, PullRequest, Queue, QueueConsumer, QueueMessage, QueueStats } from '../../core/queue.js';
import { idOfToken, keyHeader, maxDeliveriesHeader } from './layout.js';
import { bury, finishBurial, NatsDelivery, send, tell, type DeadRecord, type Held, type HeldRecord } from './nats-delivery.js';
import type { QueueContext } from './nats-queues.js';
import { ackInfo, pullNext } from './pull-request.js';
import { LaterMessages } from './later.js';
import { readAll, readRecord, removeRecord, writeRecord } from './kv-records.js';
import { guarded } from '../../nats/index.js';

/** JetStream's error for a second message on a subject that holds one (max_msgs_per_subject, discard new). */
const subjectFull = 10077;
/** How often parked messages are looked at (beaten, or given back when held long enough). */
const sweepMs = 1000;
/**
 * Most messages parked by one process: past it a skipped message goes back with a delay (so the
 * pull gets past it without meeting it again at once). The consumer lets 20 000 be held in all.
 */
const maxParked = 2000;
/**
 * The longest single wait at the server; a longer `waitMs` asks again. Short, because an aborted
 * pull's request stays open at the server until it expires, and the consumer takes 512 waiting
 * requests at most.
 */
const maxWaitMs = 5000;
/** Pause after a refused pull request, so a waiting pull does not spin. */
const refusedPauseMs = 250;

interface Parked {
  m: Msg;
  key: string;
  at: number;
  /** When its last in-progress beat went out (or it was parked). */
  beat: number;
}

export class NatsQueue implements Queue {
  private readonly stream: string;
  private readonly later: LaterMessages;
  private prepared: Promise<void> | undefined;
  /** Messages delivered to this process that a pull skipped by key, by stream sequence: the next pulls take them first. */
  private readonly parked = new Map<number, Parked>();
  private readonly live = new Set<NatsDelivery>();
  /** Wakes the pulls of this process that wait at the server. */
  private readonly waiting = new Set<() => void>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly ctx: QueueContext,
    private readonly name: string,
  ) {
    this.stream = ctx.layout.stream(name);
    this.later = new LaterMessages(ctx, name, (m, msgId) => this.publish(m, msgId));
    this.sweep = setInterval(() => this.sweepParked(), sweepMs);
    this.sweep.unref();
  }

  /** Creates the stream and the consumer if missing (idempotent: the same settings are a no-op). */
  private ready(): Promise<void> {
    this.prepared ??= this.prepare().catch((err: unknown) => {
      this.prepared = undefined;
      throw err;
    });
    return this.prepared;
  }

  private async prepare(): Promise<void> {
    const { jsm, layout } = this.ctx;
    await jsm.streams
      .add({
        name: this.stream,
        subjects: [layout.subjects(this.name)],
        retention: 'workqueue',
        storage: 'file',
        num_replicas: this.ctx.replicas,
        max_msgs_per_subject: 1,
        discard: 'new',
        discard_new_per_subject: true,
      })
      .catch(async (err: unknown) => {
        // Created by another process with other settings (an older Ferry): use it as it is.
        if (!(await jsm.streams.info(this.stream).catch(() => undefined))) throw err;
      });
    const ackWait = Math.round(this.ctx.ackWaitMs * 1e6);
    const consumer = await jsm.consumers
      .add(this.stream, {
        durable_name: layout.consumer,
        ack_policy: 'explicit',
        ack_wait: ackWait,
        // Ferry counts deliveries itself (a message handed back unseen is not one) and sets aside
        // what has had its deliveries.
        max_deliver: -1,
        max_ack_pending: 20_000,
      })
      .catch(async (err: unknown) => {
        const info = await jsm.consumers.info(this.stream, layout.consumer).catch(() => undefined);
        if (!info) throw err;
        return info;
      });
    // Created earlier with another ack wait (--nats-ack-wait changed since): the setting of the
    // process started last holds, as the redelivery of every holder's messages depends on it.
    if (consumer.config.ack_wait !== ackWait) await jsm.consumers.update(this.stream, layout.consumer, { ack_wait: ackWait });
    await this.later.start();
  }

  /**
   * The consumer's counts: `num_pending` (not yet delivered) and `num_ack_pending` (delivered, not
   * acknowledged); the oldest waiting message is the first one after the consumer's delivered
   * sequence. Messages a pull parked for a skipped key count as held; not-before messages still
   * ahead are not counted.
   */
  stats(): Promise<QueueStats> {
    return guarded(() => this.counts());
  }

  private async counts(): Promise<QueueStats> {
    await this.ready();
    const info = await this.ctx.jsm.consumers.info(this.stream, this.ctx.layout.consumer);
    let oldestPendingAt: number | undefined;
    if (info.num_pending > 0) {
      const first = await this.ctx.jsm.streams.getMessage(this.stream, { seq: info.delivered.stream_seq + 1 }).catch(() => null);
      if (first) oldestPendingAt = first.time.getTime();
    }
    return { pending: info.num_pending, held: info.num_ack_pending, oldestPendingAt };
  }

  /** Fails at once with `store-unavailable` while NATS is away (as every call here but `pull`, which its loop retries). */
  enqueue(messages: QueueMessage[]): Promise<void> {
    return guarded(() => this.add(messages));
  }

  private async add(messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ready();
    const now = Date.now();
    const later = messages.filter((m) => m.notBefore !== undefined && m.notBefore > now);
    // Published together: one connection keeps their order, so the stream's sequence is the
    // order of enqueue. Each is durable once JetStream answers; a batch is not one commit.
    await Promise.all([...messages.filter((m) => !later.includes(m)).map((m) => this.publish(m)), this.later.add(later)]);
  }

  private async publish(m: QueueMessage, msgId?: string): Promise<void> {
    const h = this.ctx.headers();
    h.set(keyHeader, encodeURIComponent(m.key));
    if (m.maxDeliveries !== undefined) h.set(maxDeliveriesHeader, String(m.maxDeliveries));
    try {
      await this.ctx.js.publish(this.ctx.layout.subject(this.name, m.id), m.data, { headers: h, ...(msgId ? { msgID: msgId } : {}) });
    } catch (err) {
      // Its id is waiting or held already.
      if ((err as { code?: unknown }).code !== subjectFull) throw err;
    }
  }

  async pull(req: PullRequest): Promise<Delivery[]> {
    const max = Math.floor(req.max);
    if (!(max > 0) || this.ctx.closed) return [];
    await this.ready();
    const skip = new Set(req.skipKeys ?? []);
    const deadline = Date.now() + (req.waitMs ?? 0);
    const out = await this.take(this.unpark(skip, max), req, skip);
    while (out.length < max && !this.ctx.closed) {
      const left = deadline - Date.now();
      // Waiting for a first message asks for one (the request ends when it comes); the rest of a
      // batch is asked for with what is ready now.
      const wait = out.length === 0 && left >= 1 && !req.signal?.aborted;
      // A message parked meanwhile (late for a withdrawn request) ends the wait: it is taken below.
      const woken = new AbortController();
      const wake = (): void => woken.abort();
      if (wait) this.waiting.add(wake);
      const { msgs: got, refused } = await pullNext(this.ctx.nc, this.stream, this.ctx.layout.consumer, {
        batch: wait ? 1 : max - out.length,
        ...(wait ? { expiresMs: Math.min(left, maxWaitMs) } : {}),
        signal: req.signal ? AbortSignal.any([req.signal, woken.signal]) : woken.signal,
        late: (m) => this.park(m, undefined, true),
      }).finally(() => this.waiting.delete(wake));
      out.push(...(await this.take([...got, ...this.unpark(skip, max - out.length - got.length)], req, skip)));
      if (out.length === 0 && woken.signal.aborted && !req.signal?.aborted) continue;
      if (got.length === 0 && (!wait || req.signal?.aborted || Date.now() >= deadline)) break;
      if (refused && got.length === 0) await pause(Math.min(refusedPauseMs, deadline - Date.now()), req.signal);
    }
    return out;
  }

  /** Turns delivered messages into deliveries; skipped keys are parked, spent ones set aside. */
  private async take(msgs: Msg[], req: PullRequest, skip: ReadonlySet<string>): Promise<Delivery[]> {
    const got = await Promise.allSettled(msgs.map((m) => this.deliver(m, req, skip)));
    const out = got.flatMap((g) => (g.status === 'fulfilled' && g.value ? [g.value] : []));
    const failed = got.find((g) => g.status === 'rejected');
    if (failed && out.length === 0) throw failed.reason;
    return out;
  }

  private async deliver(m: Msg, req: PullRequest, skip: ReadonlySet<string>): Promise<Delivery | undefined> {
    const key = decodeURIComponent(m.headers?.get(keyHeader) ?? '');
    if (skip.has(key)) {
      this.park(m, key);
      return undefined;
    }
    try {
      const id = idOfToken(m.subject.slice(m.subject.lastIndexOf('.') + 1));
      const maxText = m.headers?.get(maxDeliveriesHeader);
      const max = maxText ? Number(maxText) : null;
      const { seq } = ackInfo(m.reply!);
      const kvKey = this.ctx.layout.key(this.name, id);
      const data = Buffer.from(m.data);
      const base = { ctx: this.ctx, kvKey, id, key, data };
      const first: HeldRecord = { seq, n: 1, name: req.consumer.name, session: req.consumer.session, reply: m.reply!, max };
      // A first delivery has no record yet (an ack removes it): created without reading it first.
      const created = max === null || max > 0 ? await writeRecord(this.ctx.held, kvKey, first, undefined) : undefined;
      if (created !== undefined) return this.delivery({ ...base, rec: first, revision: created }, req);
      const prev = await readRecord<HeldRecord>(this.ctx.held, kvKey);
      // A record of an earlier message with the same id counts for nothing.
      const mine = prev && prev.value.seq === seq ? prev.value : undefined;
      if (mine?.dead) {
        await finishBurial({ ...base, rec: { ...mine, reply: m.reply! }, revision: prev!.revision });
        return undefined;
      }
      const n = mine?.n ?? 0;
      const rec: HeldRecord = { seq, n: n + 1, name: req.consumer.name, session: req.consumer.session, reply: m.reply!, max };
      if (max !== null && n >= max) {
        // Its last delivery's lease ran out with its holder gone: set aside, not delivered.
        const revision = await writeRecord(this.ctx.held, kvKey, { ...rec, n }, prev?.revision);
        if (revision !== undefined) await bury({ ...base, rec: { ...rec, n }, revision }, 'max-deliveries');
        return undefined;
      }
      const revision = await writeRecord(this.ctx.held, kvKey, rec, prev?.revision);
      if (revision === undefined) {
        // Someone changed the record meanwhile (a recovery): hand it back unseen.
        send(this.ctx, m.reply!, '-NAK');
        return undefined;
      }
      return this.delivery({ ...base, rec, revision }, req);
    } catch (err) {
      send(this.ctx, m.reply!, '-NAK');
      throw err;
    }
  }

  private delivery(h: Held, req: PullRequest): NatsDelivery {
    const d = new NatsDelivery(h, req.leaseMs, (x) => this.live.delete(x));
    this.live.add(d);
    return d;
  }

  /**
   * Keeps a message for the next pull that does not skip its key (held with in-progress beats, so
   * a function at its cap here costs one delivery per message, not one per second of waiting);
   * `wake`: tells a pull of this process waiting at the server to take it.
   */
  private park(m: Msg, key = decodeURIComponent(m.headers?.get(keyHeader) ?? ''), wake = false): void {
    if (this.ctx.closed) return void send(this.ctx, m.reply!, '-NAK');
    if (this.parked.size >= maxParked) return void send(this.ctx, m.reply!, `-NAK ${JSON.stringify({ delay: sweepMs * 1e6 })}`);
    const now = Date.now();
    this.parked.set(ackInfo(m.reply!).seq, { m, key, at: now, beat: now });
    if (wake) for (const w of this.waiting) w();
  }

  /** Parked messages a pull may have, oldest first. */
  private unpark(skip: ReadonlySet<string>, max: number): Msg[] {
    const out: Msg[] = [];
    for (const seq of [...this.parked.keys()].sort((a, b) => a - b)) {
      if (out.length >= max) break;
      const p = this.parked.get(seq)!;
      if (skip.has(p.key)) continue;
      this.parked.delete(seq);
      out.push(p.m);
    }
    return out;
  }

  /**
   * Parked for `holdSkippedMs`: back to the queue, so other nodes get a turn (not a delivery: no
   * record was written); the others get an in-progress beat every third of the ack wait.
   */
  private sweepParked(): void {
    if (this.ctx.closed) return;
    const now = Date.now();
    for (const [seq, p] of this.parked) {
      if (p.at <= now - this.ctx.holdSkippedMs) {
        this.parked.delete(seq);
        send(this.ctx, p.m.reply!, '-NAK');
      } else if (p.beat <= now - this.ctx.ackWaitMs / 3) {
        p.beat = now;
        send(this.ctx, p.m.reply!, '+WPI');
      }
    }
  }

  recover(consumer: QueueConsumer): Promise<number> {
    return guarded(() => this.recoverHeld(consumer));
  }

  private async recoverHeld(consumer: QueueConsumer): Promise<number> {
    await this.ready();
    let n = 0;
    for (const r of await readAll<HeldRecord>(this.ctx, this.ctx.layout.heldBucket, this.ctx.layout.keys(this.name))) {
      const v = r.value;
      if (v.dead || v.name !== consumer.name || v.session === consumer.session) continue;
      if ((await writeRecord(this.ctx.held, r.key, { ...v, name: null, session: null }, r.revision)) === undefined) continue;
      await tell(this.ctx, v.reply, '-NAK');
      n++;
    }
    return n;
  }

  deadLetters(q: DeadLetterQuery): Promise<DeadLetter[]> {
    return guarded(() => this.readDeadLetters(q));
  }

  private async readDeadLetters(q: DeadLetterQuery): Promise<DeadLetter[]> {
    const limit = Math.floor(q.limit);
    if (!(limit > 0)) return [];
    const keys = q.keys && new Set(q.keys);
    const before = q.before ?? Number.MAX_SAFE_INTEGER;
    // Every dead letter of the queue is read: they are few (pruned by age) and a bucket has no index by key.
    const all = (await readAll<DeadRecord>(this.ctx, this.ctx.layout.deadBucket, this.ctx.layout.keys(this.name))).filter((r) => r.revision < before && (!keys || keys.has(r.value.key)));
    return all.sort((a, b) => b.revision - a.revision).slice(0, limit).map((r) => deadLetterOf(r.value, r.revision));
  }

  async deadLetter(id: string): Promise<DeadLetter | undefined> {
    const r = await guarded(() => readRecord<DeadRecord>(this.ctx.dead, this.ctx.layout.key(this.name, id)));
    return r && deadLetterOf(r.value, r.revision);
  }

  redrive(id: string, notBefore?: number): Promise<boolean> {
    return guarded(() => this.redriveOne(id, notBefore));
  }

  private async redriveOne(id: string, notBefore?: number): Promise<boolean> {
    await this.ready();
    const k = this.ctx.layout.key(this.name, id);
    const r = await readRecord<DeadRecord>(this.ctx.dead, k);
    if (!r) return false;
    const v = r.value;
    // Queued first, then the dead letter removed: a crash between leaves both (delivered once
    // more rather than lost); of two re-drives at once one wins, and the stream holds one message.
    await this.enqueue([{ id: v.id, key: v.key, data: Buffer.from(v.data, 'base64'), ...(notBefore !== undefined ? { notBefore } : {}), ...(v.max !== null ? { maxDeliveries: v.max } : {}) }]);
    return removeRecord(this.ctx.jsm, this.ctx.layout.deadBucket, k, r.revision);
  }

  pruneDeadLetters(before: number): Promise<number> {
    return guarded(() => this.pruneOld(before));
  }

  private async pruneOld(before: number): Promise<number> {
    const old = (await readAll<DeadRecord>(this.ctx, this.ctx.layout.deadBucket, this.ctx.layout.keys(this.name))).filter((r) => r.value.at < before);
    const removed = await Promise.all(old.map((r) => removeRecord(this.ctx.jsm, this.ctx.layout.deadBucket, r.key, r.revision)));
    return removed.filter(Boolean).length;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.later.stop();
    for (const d of [...this.live]) d.drop();
    // Parked messages were never handed out: back to the queue now.
    for (const p of this.parked.values()) send(this.ctx, p.m.reply!, '-NAK');
    this.parked.clear();
  }
}

function deadLetterOf(v: DeadRecord, revision: number): DeadLetter {
  return { id: v.id, key: v.key, data: Buffer.from(v.data, 'base64'), deliveries: v.deliveries, reason: v.reason, at: v.at, seq: revision };
}

/** Sleeps `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}
