/**
 * The worker autoscaler: every `checkIntervalMs` it reads the execution queue's metrics and the
 * live workers, decides (`decideScale`), and asks its provider for the new number. Decisions are
 * logged and counted; a provider that fails is asked again at the next check. With a lease, it
 * acts only while it holds it (another autoscaler may run on standby).
 */
import type { Logger } from '../../observe/index.js';
import { decideScale, type ScaleDecision, type ScaleMetrics, type ScaleSettings } from './decision.js';
import type { AutoscalerMetrics } from './autoscaler-metrics.js';
import type { WorkerProvider } from './providers/provider.js';

export interface AutoscalerOptions {
  settings: ScaleSettings;
  /** Reads the metrics (the cluster's queue and heartbeats). */
  metrics(): Promise<ScaleMetrics>;
  provider: WorkerProvider;
  logger: Logger;
  exported?: AutoscalerMetrics;
  /** Only the lease's holder acts; without one, this autoscaler always does. */
  lease?: { held(): boolean };
  now?(): number;
}

export class Autoscaler {
  private lastChange = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private leading = false;

  constructor(private readonly o: AutoscalerOptions) {}

  /** Checks at once, then every interval, until `stop`. */
  start(): void {
    const tick = (): void => {
      this.running = this.check().catch((err) => this.o.logger.warn({ err }, 'autoscaler check failed'));
      void this.running.then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.settings.checkIntervalMs);
      });
    };
    tick();
  }

  /** One check: answers the change it made, if any (the provider's error is thrown). */
  async check(): Promise<ScaleDecision | undefined> {
    try {
      return await this.checkOnce();
    } finally {
      this.o.exported?.checked();
    }
  }

  private async checkOnce(): Promise<ScaleDecision | undefined> {
    const now = this.o.now?.() ?? Date.now();
    const m = await this.o.metrics();
    const leading = this.o.lease?.held() ?? true;
    // Taking over: a provider that cannot count its workers starts from the live ones.
    if (leading && !this.leading) await this.o.provider.adopt?.(m.workers);
    this.leading = leading;
    const current = await this.o.provider.current();
    this.o.exported?.observe(m, current, leading);
    if (!leading) return undefined;
    const decision = decideScale(m, current, this.o.settings, now - this.lastChange);
    if (!decision || decision.target === current) return undefined;
    this.o.logger.info({ from: current, to: decision.target, reason: decision.reason, pending: m.pending, ackPending: m.ackPending, lagMs: m.lagMs, liveWorkers: m.workers }, `scaling workers ${current} -> ${decision.target} (${decision.reason})`);
    try {
      await this.o.provider.scaleTo(decision.target);
    } catch (err) {
      this.o.exported?.decided(decision, false);
      throw err;
    }
    this.o.exported?.decided(decision, true);
    this.lastChange = this.o.now?.() ?? Date.now();
    return decision;
  }

  /** Stops checking (the provider's workers are the caller's to close). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
