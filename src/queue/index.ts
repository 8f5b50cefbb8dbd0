/** Public face of the queues: the registry, and the SQLite queues for direct use. */
export { queues, openQueues, type QueueKind, type QueueOptions } from './registry.js';
export { SqliteQueues, queueFileName, type SqliteQueuesOptions } from './sqlite/sqlite-queues.js';
