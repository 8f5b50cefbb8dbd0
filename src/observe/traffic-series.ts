const MINUTE_MS = 60_000;
/** A day of minutes: what the dashboard's charts can show. */
export const SERIES_MINUTES = 1440;
/** Minutes whose latency histogram is kept, so a recent window's percentiles are not averages of averages. */
export const SUMMARY_MINUTES = 15;
/** Latency buckets: 0.1 ms times √2 per bucket, up to ~105 s; the last one takes everything above. */
const BUCKETS = 41;
const FIRST_MS = 0.1;
const STEP = Math.SQRT2;

/** One minute of one function's calls. */
interface Minute {
  minute: number;
  requests: number;
  errors: number;
  coldStarts: number;
  /** Latency counts per bucket; dropped once the minute is older than SUMMARY_MINUTES. */
  hist: Uint32Array | undefined;
  p50: number | null;
  p99: number | null;
}

/** What the API answers per minute. */
export interface MinutePoint {
  time: string;
  requests: number;
  errors: number;
  coldStarts: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** A window's totals for one function. */
export interface TrafficSummary {
  requests: number;
  perSecond: number;
  errors: number;
  coldStarts: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_MS) / Math.log(STEP)));
}

/** The upper bound of a bucket, in ms: a percentile is reported as the bound it falls under. */
function boundOf(bucket: number): number {
  return Math.round(FIRST_MS * STEP ** bucket * 1000) / 1000;
}

function percentile(hist: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return boundOf(i);
  }
  return boundOf(hist.length - 1);
}

/**
 * Per-minute traffic of each function for the last day, in memory: requests, errors (status 500
 * and up), cold starts, latency p50 and p99. Only minutes with traffic are kept, so an idle
 * function costs nothing; a busy one at most SERIES_MINUTES small records. Lost on restart: the
 * long view is Prometheus's (`/metrics`).
 */
export class TrafficSeries {
  private readonly byFunction = new Map<string, Minute[]>();

  constructor(private readonly now: () => number = Date.now) {}

  request(fn: string, status: number, ms: number): void {
    const m = this.current(fn);
    m.requests++;
    if (status >= 500) m.errors++;
    (m.hist ??= new Uint32Array(BUCKETS))[bucketOf(ms)]!++;
  }

  coldStart(fn: string): void {
    this.current(fn).coldStarts++;
  }

  /**
   * The last `minutes` minutes of one function, oldest first, one point per minute (zeros where
   * idle). `since`: the function's creation; calls of an earlier function of that name are not its.
   */
  series(fn: string, minutes: number, since = 0): MinutePoint[] {
    const last = Math.floor(this.now() / MINUTE_MS);
    const first = last - Math.min(minutes, SERIES_MINUTES) + 1;
    const born = Math.floor(since / MINUTE_MS);
    const have = new Map((this.byFunction.get(fn) ?? []).filter((m) => m.minute >= first && m.minute >= born).map((m) => [m.minute, m]));
    const out: MinutePoint[] = [];
    for (let minute = first; minute <= last; minute++) {
      const m = have.get(minute);
      const p = m && m.hist ? { p50: percentile(m.hist, m.requests, 0.5), p99: percentile(m.hist, m.requests, 0.99) } : { p50: m?.p50 ?? null, p99: m?.p99 ?? null };
      out.push({ time: new Date(minute * MINUTE_MS).toISOString(), requests: m?.requests ?? 0, errors: m?.errors ?? 0, coldStarts: m?.coldStarts ?? 0, p50Ms: p.p50, p99Ms: p.p99 });
    }
    return out;
  }

  /** Totals over the last `minutes` (at most SUMMARY_MINUTES), percentiles over every call in them; `since` as for `series`. */
  summary(fn: string, minutes: number, since = 0): TrafficSummary {
    const window = Math.max(1, Math.min(minutes, SUMMARY_MINUTES));
    const first = Math.max(Math.floor(this.now() / MINUTE_MS) - window + 1, Math.floor(since / MINUTE_MS));
    const hist = new Uint32Array(BUCKETS);
    const sum = { requests: 0, errors: 0, coldStarts: 0 };
    for (const m of this.byFunction.get(fn) ?? []) {
      if (m.minute < first) continue;
      sum.requests += m.requests;
      sum.errors += m.errors;
      sum.coldStarts += m.coldStarts;
      if (m.hist) for (let i = 0; i < BUCKETS; i++) hist[i]! += m.hist[i]!;
    }
    return { ...sum, perSecond: Math.round((sum.requests / (window * 60)) * 1000) / 1000, p50Ms: percentile(hist, sum.requests, 0.5), p99Ms: percentile(hist, sum.requests, 0.99) };
  }

  private current(fn: string): Minute {
    const minute = Math.floor(this.now() / MINUTE_MS);
    let list = this.byFunction.get(fn);
    if (!list) this.byFunction.set(fn, (list = []));
    const tail = list.at(-1);
    if (tail?.minute === minute) return tail;
    this.age(list, minute);
    const m: Minute = { minute, requests: 0, errors: 0, coldStarts: 0, hist: undefined, p50: null, p99: null };
    list.push(m);
    return m;
  }

  /** On a new minute: older minutes keep only their percentiles, and a day's worth is kept. */
  private age(list: Minute[], minute: number): void {
    for (const m of list) {
      if (m.minute > minute - SUMMARY_MINUTES || !m.hist) continue;
      m.p50 = percentile(m.hist, m.requests, 0.5);
      m.p99 = percentile(m.hist, m.requests, 0.99);
      m.hist = undefined;
    }
    let drop = 0;
    while (drop < list.length && list[drop]!.minute <= minute - SERIES_MINUTES) drop++;
    if (drop) list.splice(0, drop);
  }
}
