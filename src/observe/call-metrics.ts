import type * as PromClient from 'prom-client';

/**
 * The two series every call updates, made cheap on the call path. prom-client's labelled
 * children hash their label set on every `inc()` and `observe()` (with a keyed lookup by the hash
 * string): ~2% of the gateway's CPU per call. Here a child keeps its numbers in plain fields, and
 * the registry sees them when it is read: the counter's through prom-client's own `collect` hook
 * (added in one `inc` per child), the histogram as a metric of its own in prom-client's format.
 * What a scrape prints is unchanged.
 */

/** A labelled counter child: `inc()` adds to a field; the counter gets the sum when it is read. */
export interface CounterChild {
  inc(n?: number): void;
}

/** A prom-client `Counter` whose labelled children count in plain fields until it is read. */
export class CallCounter<L extends string> {
  private readonly children = new Map<string, { labels: Partial<Record<L, string>>; pending: number }>();
  private readonly counter: PromClient.Counter<L>;
  private readonly labelNames: readonly L[];

  constructor(Counter: typeof PromClient.Counter, config: { name: string; help: string; labelNames: readonly L[]; registers: PromClient.Registry[] }) {
    this.labelNames = config.labelNames;
    this.counter = new Counter({ ...config, collect: () => this.collect() });
  }

  /** What was counted since the last read goes into the counter (prom-client's `collect` hook). */
  private collect(): void {
    for (const c of this.children.values()) {
      if (c.pending === 0) continue;
      this.counter.inc(c.labels, c.pending);
      c.pending = 0;
    }
  }

  /** The child for these label values (in `labelNames` order); keep it, it is the cheap part. */
  labels(...values: string[]): CounterChild {
    const key = values.join('\u0000');
    let child = this.children.get(key);
    if (!child) {
      const labels: Partial<Record<L, string>> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]));
      child = { labels, pending: 0 };
      this.children.set(key, child);
    }
    const c = child;
    return {
      inc: (n = 1) => {
        c.pending += n;
      },
    };
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Per upper bound (not cumulative), then the count above the last bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A labelled histogram, registered as prom-client would register its own: `labels(...)` gives a
 * child whose `observe` is a bucket scan and three additions. Read, it answers what prom-client's
 * `Histogram` answers for the same observations (buckets cumulative, `+Inf`, `_sum`, `_count`).
 */
export class CallHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly upperBounds: readonly number[],
    registry: PromClient.Registry,
  ) {
    registry.registerMetric(this as unknown as PromClient.Metric);
  }

  labels(...values: string[]): { observe(value: number): void } {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      s = { labels, buckets: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const series = s;
    const bounds = this.upperBounds;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        series.buckets[i]!++;
        series.sum += value;
        series.count++;
      },
    };
  }

  reset(): void {
    this.series.clear();
  }

  /** prom-client's text format reads this (labels apart from `le`, as prom-client keeps them). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }> }> {
    const values: Array<{ labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }> = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON form (`registry.getMetricsAsJSON`): each value's labels in one object. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> }> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName })) };
  }
}
