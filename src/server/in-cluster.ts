/**
 * Whether this process is a node of a cluster, apart from the cluster's code: the server asks at
 * every start, and loads `cluster-node.ts` only when the answer is yes.
 */
import type { ServerOptions } from '../config/index.js';
import { isNatsUrl } from '../nats/index.js';

/** Whether this process is a node of a cluster: a role other than `all`, or a shared store. */
export function inCluster(opts: ServerOptions): boolean {
  return opts.role !== 'all' || isNatsUrl(opts.store);
}
