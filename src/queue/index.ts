/** Public face of the queues: the registry, and the SQLite and NATS queues for direct use. */
export { queues, openQueues, type QueueKind, type QueueOptions } from './registry.js';
export { SqliteQueues, queueFileName, type SqliteQueuesOptions } from './sqlite/sqlite-queues.js';
export { NatsQueues, type NatsQueuesOptions } from './nats/nats-queues.js';
