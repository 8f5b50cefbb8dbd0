// The row groups of bench/cluster.mjs, by the name `--only` takes (also through `npm run bench`).
export const clusterRowNames = [
  // async executions/s: one node on the embedded store, then a gateway and 1, 2 and 3 workers on NATS
  'cluster-async',
  // sync warm req/s and p50: one node, a plain one-hop proxy to it, a gateway to one worker on NATS
  'cluster-sync',
];
