/**
 * The queue backends Ferry can run on, by the store kind that brings them: `--store sqlite` runs
 * its queues on SQLite too. A new backend (NATS JetStream) joins as one more entry.
 */
import type { Queues } from '../core/queue.js';
import { SqliteQueues } from './sqlite/sqlite-queues.js';

/** Options every queue factory accepts. */
export interface QueueOptions {
  /** Ferry's data directory; a backend keeps its files under it. */
  dataDir: string;
}

/** Queue factories keyed by kind. */
export const queues = {
  sqlite: async (opts: QueueOptions): Promise<Queues> => new SqliteQueues({ dataDir: opts.dataDir }),
} satisfies Record<string, (opts: QueueOptions) => Promise<Queues>>;

/** A kind of queue backend Ferry knows. */
export type QueueKind = keyof typeof queues;

/** Opens the queues that go with `--store kind`; an unknown kind is an error naming the known ones. */
export function openQueues(kind: string, opts: QueueOptions): Promise<Queues> {
  if (!Object.hasOwn(queues, kind)) throw new Error(`unknown store '${kind}' for the queues (--store; known: ${Object.keys(queues).join(', ')})`);
  return queues[kind as QueueKind](opts);
}
