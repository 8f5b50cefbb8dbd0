export { openNats, isNatsUrl, parseNatsServers, type NatsConnectOptions, type NatsHandle } from './connection.js';
export { fromNats, guarded } from './unavailable.js';
export { readStream, type ReadOptions } from './read-stream.js';
export { natsAway } from './connection-status.js';
export { scanKv, type KvRecord } from './kv-scan.js';
export { publishBatch, type BatchMessage } from './publish-batch.js';
