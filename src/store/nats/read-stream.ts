/** The store's name for the ordered stream read, which the queues share (`nats/read-stream.ts`). */
export { readStream, type ReadOptions } from '../../nats/index.js';
