/** The store's name for the NATS outage mapping, which the queues and the node directory share (`nats/unavailable.ts`). */
export { fromNats, guarded } from '../../nats/index.js';
