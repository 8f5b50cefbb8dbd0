/**
 * The queue backends Ferry can run on, by the store kind that brings them: `--store sqlite` runs
 * its queues on SQLite too, a NATS store (`--store nats://...`) on JetStream (`nats`).
 */
import type { Queues } from '../core/queue.js';
import type { NatsConnectOptions } from '../nats/index.js';
import { SqliteQueues } from './sqlite/sqlite-queues.js';

/** Options every queue factory accepts. */
export interface QueueOptions {
  /** Ferry's data directory; a backend keeps its files under it. */
  dataDir: string;
  /** The NATS connection, for the `nats` kind. */
  nats?: NatsConnectOptions;
  /** Names the NATS streams and buckets (default `ferry`), so deployments can share an account. */
  natsPrefix?: string;
  /** How long JetStream waits for a silent holder before delivering its message again (`--nats-ack-wait`). */
  natsAckWaitMs?: number;
}

/** Queue factories keyed by kind. */
export const queues = {
  sqlite: async (opts: QueueOptions): Promise<Queues> => new SqliteQueues({ dataDir: opts.dataDir }),
  // Loaded only on a NATS store: a server on the embedded one never loads the JetStream queues.
  nats: async (opts: QueueOptions): Promise<Queues> =>
    (await import('./nats/nats-queues.js')).NatsQueues.open({ nats: natsOf(opts), ...(opts.natsPrefix ? { prefix: opts.natsPrefix } : {}), ...(opts.natsAckWaitMs ? { ackWaitMs: opts.natsAckWaitMs } : {}) }),
} satisfies Record<string, (opts: QueueOptions) => Promise<Queues>>;

/** A kind of queue backend Ferry knows. */
export type QueueKind = keyof typeof queues;

/** Opens the queues that go with `--store kind`; an unknown kind is an error naming the known ones. */
export function openQueues(kind: string, opts: QueueOptions): Promise<Queues> {
  if (!Object.hasOwn(queues, kind)) throw new Error(`unknown store '${kind}' for the queues (--store; known: ${Object.keys(queues).join(', ')})`);
  return queues[kind as QueueKind](opts);
}

function natsOf(opts: { nats?: NatsConnectOptions }): NatsConnectOptions {
  if (!opts.nats) throw new Error('the NATS queues need the NATS connection settings (--store nats://...)');
  return opts.nats;
}
