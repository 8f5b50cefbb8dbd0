/**
 * What the rule reads, from the cluster itself: the executions queue's counts (JetStream's
 * `num_pending` and `num_ack_pending` of its consumer), how long the oldest waiting execution has
 * waited, and the workers alive by their heartbeats.
 */
import type { NodeDirectory, Queue } from '../../core/index.js';
import type { ScaleMetrics } from './decision.js';

export async function readScaleMetrics(executions: Queue, directory: NodeDirectory, now: () => number = Date.now): Promise<ScaleMetrics> {
  const [stats, nodes] = await Promise.all([executions.stats(), directory.list()]);
  return {
    pending: stats.pending,
    ackPending: stats.held,
    lagMs: stats.oldestPendingAt === undefined ? 0 : Math.max(0, now() - stats.oldestPendingAt),
    workers: nodes.filter((n) => n.roles.includes('worker')).length,
  };
}
