import type { DeployTarget } from '../core/index.js';
import type { Metrics } from '../observe/index.js';

interface Children {
  duration: ReturnType<Metrics['duration']['labels']>;
  byStatus: Map<number, ReturnType<Metrics['requests']['labels']>>;
}

/**
 * Records each invocation in the Prometheus metrics. Label lookups cost more than the rest of
 * the accounting, so labelled children are cached per deploy target.
 */
export class RequestStats {
  private readonly cache = new WeakMap<DeployTarget, Children>();

  constructor(private readonly metrics: Metrics) {}

  record(target: DeployTarget, status: number, ms: number): void {
    let c = this.cache.get(target);
    if (!c) {
      c = { duration: this.metrics.duration.labels(target.function, target.version), byStatus: new Map() };
      this.cache.set(target, c);
    }
    let counter = c.byStatus.get(status);
    if (!counter) {
      counter = this.metrics.requests.labels(target.function, target.version, String(status));
      c.byStatus.set(status, counter);
    }
    counter.inc();
    c.duration.observe(ms / 1000);
  }

  /**
   * Records a call that ran (a synchronous call or an execution's run; not an asynchronous
   * acceptance, whose run comes later) in the dashboard's per-minute series.
   */
  ran(target: DeployTarget, status: number, ms: number): void {
    this.metrics.traffic.request(target.function, status, ms);
  }
}
