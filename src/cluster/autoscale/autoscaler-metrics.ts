import client from 'prom-client';
import type { ScaleDecision, ScaleMetrics } from './decision.js';

/** What the autoscaler saw and decided, for Prometheus (`ferry autoscaler --metrics-listen`). */
export class AutoscalerMetrics {
  readonly registry = new client.Registry();
  private readonly pending = new client.Gauge({ name: 'ferry_autoscaler_pending', help: 'Executions waiting to be delivered', registers: [this.registry] });
  private readonly running = new client.Gauge({ name: 'ferry_autoscaler_ack_pending', help: 'Executions delivered and not yet acknowledged', registers: [this.registry] });
  private readonly lag = new client.Gauge({ name: 'ferry_autoscaler_lag_seconds', help: 'How long the oldest waiting execution has waited', registers: [this.registry] });
  private readonly live = new client.Gauge({ name: 'ferry_autoscaler_live_workers', help: 'Workers alive by their heartbeats', registers: [this.registry] });
  private readonly target = new client.Gauge({ name: 'ferry_autoscaler_target_workers', help: 'Workers the provider was last asked to run', registers: [this.registry] });
  private readonly leading = new client.Gauge({ name: 'ferry_autoscaler_lease_held', help: '1 while this autoscaler holds the lease and acts, 0 on standby', registers: [this.registry] });
  private readonly checks = new client.Counter({ name: 'ferry_autoscaler_checks_total', help: 'Checks of the queue and the heartbeats that ended, acted on or not', registers: [this.registry] });
  private readonly decisions = new client.Counter({ name: 'ferry_autoscaler_decisions_total', help: 'Changes of the number of workers, by reason and outcome', labelNames: ['reason', 'outcome'] as const, registers: [this.registry] });

  observe(m: ScaleMetrics, current: number, leading = true): void {
    this.leading.set(leading ? 1 : 0);
    this.pending.set(m.pending);
    this.running.set(m.ackPending);
    this.lag.set(m.lagMs / 1000);
    this.live.set(m.workers);
    this.target.set(current);
  }

  checked(): void {
    this.checks.inc();
  }

  decided(d: ScaleDecision, ok: boolean): void {
    this.decisions.inc({ reason: d.reason, outcome: ok ? 'done' : 'failed' });
    if (ok) this.target.set(d.target);
  }
}
