/**
 * When to add or remove workers, from the execution queue's metrics: a pure function, so every
 * rule is testable without a clock or a cluster.
 */

/** What the autoscaler reads at every check. */
export interface ScaleMetrics {
  /** Executions waiting to be delivered (the executions consumer's `num_pending`). */
  pending: number;
  /** Executions delivered to a worker and not yet acknowledged (`num_ack_pending`): running. */
  ackPending: number;
  /** How long the oldest waiting execution has waited, ms (0 when none waits): processing lag. */
  lagMs: number;
  /** Workers alive by their heartbeats. */
  workers: number;
}

export interface ScaleSettings {
  minWorkers: number;
  maxWorkers: number;
  /** Grow when the backlog per live worker (pending plus running) is above this. */
  scaleUpThreshold: number;
  /** Shrink (one worker at a time) when the backlog per live worker is below this. */
  scaleDownThreshold: number;
  /** Grow too when the oldest waiting execution has waited longer than this (0: lag ignored). */
  scaleUpLagMs: number;
  /** How often the metrics are read. */
  checkIntervalMs: number;
  /** No change within this long of the last one (bounds are restored at once regardless). */
  cooldownMs: number;
}

export const defaultScaleSettings: ScaleSettings = {
  minWorkers: 1,
  maxWorkers: 10,
  scaleUpThreshold: 3,
  scaleDownThreshold: 2,
  scaleUpLagMs: 10_000,
  checkIntervalMs: 30_000,
  cooldownMs: 30_000,
};

/** A change of the number of workers, and why (logged, and a metric label). */
export interface ScaleDecision {
  target: number;
  reason: 'below-min' | 'above-max' | 'backlog' | 'lag' | 'idle';
}

/**
 * The target number of workers for `m`, or undefined to keep the current one. `current` is what
 * the provider runs now (workers starting up are not alive by heartbeat yet, so decisions count
 * from it, not from `m.workers`, or every check during a start would add more).
 */
export function decideScale(m: ScaleMetrics, current: number, s: ScaleSettings, sinceLastChangeMs: number): ScaleDecision | undefined {
  if (current < s.minWorkers) return { target: s.minWorkers, reason: 'below-min' };
  if (current > s.maxWorkers) return { target: s.maxWorkers, reason: 'above-max' };
  if (sinceLastChangeMs < s.cooldownMs) return undefined;
  const backlog = m.pending + m.ackPending;
  // Per worker that can take work now: a provider's count includes workers still starting.
  const perWorker = backlog / Math.max(1, Math.min(current, Math.max(m.workers, 1)));
  if (current < s.maxWorkers) {
    if (perWorker > s.scaleUpThreshold) {
      // Enough workers for the backlog at the threshold's load, at least one more.
      const wanted = Math.ceil(backlog / Math.max(s.scaleUpThreshold, 1e-9));
      return { target: Math.min(s.maxWorkers, Math.max(current + 1, wanted)), reason: 'backlog' };
    }
    if (s.scaleUpLagMs > 0 && m.pending > 0 && m.lagMs > s.scaleUpLagMs) return { target: current + 1, reason: 'lag' };
  }
  if (current > s.minWorkers && perWorker < s.scaleDownThreshold && !(s.scaleUpLagMs > 0 && m.lagMs > s.scaleUpLagMs)) {
    // One at a time: a worker stopped drains its running executions first.
    return { target: current - 1, reason: 'idle' };
  }
  return undefined;
}
