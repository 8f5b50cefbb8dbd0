/**
 * The queues on NATS JetStream (layout in `docs/cluster.md`): every named queue is a work-queue
 * stream with one durable pull consumer that every node pulls with; three KV buckets beside them
 * hold what a stream cannot: who holds each delivered message (for leases per pull, recovery and
 * exact delivery counts), the dead letters, and messages whose not-before time is still ahead
 * (nats-server 2.9 has no scheduled messages).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Queue, Queues } from '../../core/queue.js';
import { openNats, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';
import { QueueLayout, checkPlainName } from './layout.js';
import { NatsQueue } from './nats-queue.js';

export interface NatsQueuesOptions {
  nats: NatsConnectOptions;
  /** Names every stream and bucket, so deployments can share one NATS account; default `ferry`. */
  prefix?: string;
  /**
   * How long JetStream waits for a holder that went silent (its process died) before it delivers
   * the message again; holders send in-progress beats at a third of it. Default 30 s. Set on the
   * queue's consumer when the queue is first used: a changed value updates the consumer.
   */
  ackWaitMs?: number;
  /** Stream and bucket replicas in a NATS cluster; default 1. */
  replicas?: number;
  /**
   * How long a message a pull skipped by key (its function at its cap on this node) stays with
   * this process, for its next pull, before it goes back to the queue for other nodes. Default 10 s.
   */
  holdSkippedMs?: number;
}

/** What the queues of one deployment share: the connection, the names and the buckets. */
export interface QueueContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly layout: QueueLayout;
  readonly held: KV;
  readonly dead: KV;
  readonly later: KV;
  readonly ackWaitMs: number;
  readonly replicas: number;
  readonly holdSkippedMs: number;
  /** A fresh header set (the client's runtime value, loaded with the connection). */
  headers(): ReturnType<(typeof import('@nats-io/transport-node'))['headers']>;
  readonly closed: boolean;
}

export class NatsQueues implements Queues, QueueContext {
  readonly kind = 'nats';
  private readonly named = new Map<string, NatsQueue>();
  closed = false;

  private constructor(
    private readonly handle: NatsHandle,
    readonly layout: QueueLayout,
    readonly held: KV,
    readonly dead: KV,
    readonly later: KV,
    readonly ackWaitMs: number,
    readonly replicas: number,
    readonly holdSkippedMs: number,
    readonly headers: QueueContext['headers'],
  ) {}

  /** Connects (a lease on the process's shared connection) and creates the buckets if missing. */
  static async open(opts: NatsQueuesOptions): Promise<NatsQueues> {
    const layout = new QueueLayout(opts.prefix ?? 'ferry');
    const handle = await openNats(opts.nats);
    try {
      const { headers } = await import('@nats-io/transport-node');
      const replicas = opts.replicas ?? 1;
      // Creating a bucket that exists with the same settings is a no-op, so two processes
      // opening at once both succeed.
      const bucket = (name: string): Promise<KV> => handle.kvm.create(checkPlainName('a bucket name', name), { history: 1, replicas });
      const [held, dead, later] = await Promise.all([bucket(layout.heldBucket), bucket(layout.deadBucket), bucket(layout.laterBucket)]);
      return new NatsQueues(handle, layout, held, dead, later, opts.ackWaitMs ?? 30_000, replicas, opts.holdSkippedMs ?? 10_000, headers);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get nc(): NatsConnection {
    return this.handle.nc;
  }

  get js(): JetStreamClient {
    return this.handle.js;
  }

  get jsm(): JetStreamManager {
    return this.handle.jsm;
  }

  queue(name: string): Queue {
    let q = this.named.get(name);
    if (!q) this.named.set(name, (q = new NatsQueue(this, checkPlainName('a queue name', name))));
    return q;
  }

  /**
   * Stops this process's timers and gives the connection lease back. Deliveries still held are
   * not given back: JetStream delivers them again once their holder's beats stop (ack wait), or
   * at once when the same node starts again and calls `recover`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.named.values()].map((q) => q.close()));
    await this.handle.close();
  }
}
