/**
 * The autoscaler's lease: one key in a JetStream key-value bucket (`<prefix>_autoscaler`) whose
 * max age is the lease's lifetime, so the NATS server drops a lease its holder stopped renewing,
 * whatever the clocks of the machines say. Taking it is a `create` (fails while someone holds
 * it), renewing an `update` on the revision this holder wrote (fails once another took it), and a
 * clean stop deletes it on that revision, so a standby takes over at its next try.
 *
 * A holder counts the lease as its own only until a lifetime after it *sent* its last successful
 * write, less a margin: the server cannot have dropped that write earlier, so another autoscaler
 * cannot have taken the lease within that time.
 */
import type { KV } from '@nats-io/kv';
import { openNats, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';

export interface LeaseHolder {
  /** Who holds it: host, pid and a random id for this run. */
  id: string;
  since: string;
}

export interface KvLeaseOptions {
  nats: NatsConnectOptions;
  prefix: string;
  /** The lease's lifetime unrenewed (the bucket's max age; a bucket made earlier keeps its own). */
  ttlMs: number;
  holder: string;
  /** Told when this process takes or loses the lease, and who holds it when it is not this one. */
  changed?(held: boolean, holder: LeaseHolder | undefined): void;
  warn?(message: string, err: unknown): void;
}

const key = 'lease';

export class KvLease {
  private revision = 0;
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private trying: Promise<boolean> = Promise.resolve(false);
  private since = '';
  private lastState = '';
  private stopped = false;

  private constructor(private readonly o: KvLeaseOptions, private readonly nats: NatsHandle, private readonly kv: KV, readonly ttlMs: number) {}

  static async open(o: KvLeaseOptions): Promise<KvLease> {
    const nats = await openNats(o.nats);
    try {
      const bucket = `${o.prefix}_autoscaler`;
      // A bucket made with another lifetime stays as it is: the lease then lives by that one.
      const kv = await nats.kvm.create(bucket, { history: 1, ttl: o.ttlMs }).catch(() => nats.kvm.open(bucket));
      const ttlMs = (await kv.status()).ttl || o.ttlMs;
      return new KvLease(o, nats, kv, ttlMs);
    } catch (err) {
      await nats.close();
      throw err;
    }
  }

  /** Tries at once, then every third of the lifetime, until `stop`. */
  async start(): Promise<void> {
    const tick = async (): Promise<void> => {
      this.trying = this.tryHold();
      await this.trying;
      if (!this.stopped) this.timer = setTimeout(() => void tick(), Math.max(100, Math.floor(this.ttlMs / 3)));
    };
    await tick();
  }

  /** Whether this process holds the lease now: only then may it act. */
  held(): boolean {
    return Date.now() < this.validUntil;
  }

  /** Takes or renews the lease; answers whether this process holds it. */
  async tryHold(): Promise<boolean> {
    const sentAt = Date.now();
    if (!this.revision) this.since = new Date(sentAt).toISOString();
    const value = JSON.stringify({ id: this.o.holder, since: this.since } satisfies LeaseHolder);
    let holder: LeaseHolder | undefined;
    try {
      this.revision = this.revision ? await this.kv.update(key, value, this.revision) : await this.kv.create(key, value);
      // A margin for the server's own clock steps: a tenth of the lifetime.
      this.validUntil = sentAt + this.ttlMs * 0.9;
    } catch (err) {
      // Another holds it (a create or update on a stale revision fails), or NATS is away.
      this.revision = 0;
      holder = await this.holder().catch(() => undefined);
      if (!holder) this.o.warn?.('could not take or renew the autoscaler lease', err);
    }
    const held = this.held();
    // Told once per change: taken, lost, or held by another one.
    const state = held ? 'held' : `by ${holder?.id ?? 'nobody'}`;
    if (state !== this.lastState) this.o.changed?.(held, holder);
    this.lastState = state;
    return held;
  }

  /** Who holds the lease now, as the bucket says. */
  async holder(): Promise<LeaseHolder | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    return e.json<LeaseHolder>();
  }

  /** Stops renewing and gives the lease up (if still ours), so a standby takes it at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.trying.catch(() => false);
    if (this.revision) await this.kv.delete(key, { previousSeq: this.revision }).catch(() => {});
    this.revision = 0;
    this.validUntil = 0;
    await this.nats.close();
  }
}
