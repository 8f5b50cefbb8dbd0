import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { TrafficSeries } from './traffic-series.js';
import { CallCounter, CallHistogram } from './call-metrics.js';

// prom-client's entry point also loads its push gateway, its cluster aggregator and every default
// metric (with @opentelemetry/api): ~3 MB that a server at rest does not use. The four classes
// the server needs come from their own files (the entry point exports these very files); the
// default metrics come with the first scrape (`defaults` below).
const load = createRequire(import.meta.url);
const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;
const Histogram = load('prom-client/lib/histogram') as typeof PromClient.Histogram;
const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;

/**
 * Prometheus metrics. One registry per server (no globals), so tests can run several servers in
 * one process.
 */
export class Metrics {
  readonly registry = new Registry();
  /** The last day per minute, per function, for the dashboard's charts (`GET /v1/traffic`). */
  readonly traffic = new TrafficSeries();
  // Every call updates these two: their children count in plain fields (call-metrics.ts).
  readonly requests = new CallCounter(Counter, {
    name: 'ferry_requests_total',
    help: 'Invocations by function, version and status code',
    labelNames: ['function', 'version', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new CallHistogram(
    'ferry_request_duration_seconds',
    'Invocation duration until the response ended',
    ['function', 'version'] as const,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    this.registry,
  );
  readonly coldStarts = new Counter({
    name: 'ferry_cold_starts_total',
    help: 'Instances started',
    labelNames: ['function', 'version'] as const,
    registers: [this.registry],
  });
  readonly coldStartSeconds = new Histogram({
    name: 'ferry_cold_start_seconds',
    help: 'Time from spawn to an instance accepting calls',
    labelNames: ['function', 'version'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly sandbox = new Gauge({
    name: 'ferry_version_sandbox',
    help: 'The sandbox tier a version runs in (1, labelled; set when an instance of it starts)',
    labelNames: ['function', 'version', 'sandbox'] as const,
    registers: [this.registry],
  });
  readonly instances = new Gauge({
    name: 'ferry_instances',
    help: 'Ready instances',
    labelNames: ['function', 'version'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'ferry_queue_depth',
    help: 'Calls waiting for a free instance',
    labelNames: ['function', 'version'] as const,
    registers: [this.registry],
  });
  /** What the rate limits hold, read at each scrape (`watchRateLimits`). */
  private bucketSizes: () => Record<string, number> = () => ({});
  readonly rateLimitBuckets = new Gauge({
    name: 'ferry_rate_limit_buckets',
    help: 'Token buckets the rate limits hold in memory, by table (address, token, function); each table is bounded by --rate-limit-buckets',
    labelNames: ['table'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [table, n] of Object.entries(this.bucketSizes())) this.rateLimitBuckets.set({ table }, n);
    },
  });
  readonly rateLimitShare = new Gauge({
    name: 'ferry_rate_limit_share',
    help: "This node's part of each rate limit: 1 alone, 1/n among n live gateways of a cluster",
    registers: [this.registry],
  });
  readonly adHocRuns = new Counter({
    name: 'ferry_ad_hoc_runs_total',
    help: "Ad-hoc commands (POST /v1/run, Tangle's invoke) by the caller's label and how they ended",
    labelNames: ['label', 'outcome'] as const,
    registers: [this.registry],
  });

  private defaultsAdded: Promise<void> | undefined;

  /**
   * `node`: in a cluster, every series carries `node="<id>"`, so a scrape of every node keeps one
   * series per node and sums across them (the same function on two workers is two series).
   */
  constructor(opts: { node?: string } = {}) {
    if (opts.node !== undefined) this.registry.setDefaultLabels({ node: opts.node });
  }

  /**
   * The server process's own series (`ferry_process_*`), added on the first scrape: CPU, memory,
   * handles and heap are read at each scrape anyway; event loop lag and GC are observed from then.
   */
  /** Where the `ferry_rate_limit_buckets` gauge reads the size of each table. */
  watchRateLimits(sizes: () => Record<string, number>): void {
    this.bucketSizes = sizes;
  }

  private defaults(): Promise<void> {
    return (this.defaultsAdded ??= import('prom-client').then(({ collectDefaultMetrics }) => collectDefaultMetrics({ register: this.registry, prefix: 'ferry_process_' })));
  }

  /**
   * The Prometheus text, with the series of a function only where `visible(name)` says so (series
   * without a `function` label, the server's own, always stay). Without `visible`: everything.
   */
  async text(visible?: (fn: string) => boolean): Promise<string> {
    await this.defaults();
    const text = await this.registry.metrics();
    if (!visible) return text;
    const seen = new Map<string, boolean>();
    const keep = (line: string): boolean => {
      if (line.startsWith('#')) return true;
      const m = functionLabel.exec(line);
      // A label this parse does not understand is left out, never shown by mistake.
      if (!m) return !line.includes('function=');
      const fn = m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      let ok = seen.get(fn);
      if (ok === undefined) seen.set(fn, (ok = visible(fn)));
      return ok;
    };
    return text.split('\n').filter(keep).join('\n');
  }
}

/** The `function` label of a sample line (values escape `\\`, `"` and newlines with a backslash). */
const functionLabel = /^[^{\s]+\{(?:[^}]*,)?function="((?:[^"\\]|\\.)*)"/;
