/** Public face of the queues: the registry, and the SQLite queues for direct use (the NATS ones load through the registry). */
export { queues, openQueues, type QueueKind, type QueueOptions } from './registry.js';
export { SqliteQueues, queueFileName, type SqliteQueuesOptions } from './sqlite/sqlite-queues.js';
export type { NatsQueuesOptions } from './nats/nats-queues.js';
