/** A bucket's rule: `burst` tokens at most, refilled at `rate` tokens a second. */
export interface BucketRule {
  rate: number;
  burst: number;
}

/** What one take found: allowed or not, and what the rate-limit headers say. */
export interface BucketTake {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** Seconds until the bucket is full again (rounded up). */
  resetSeconds: number;
  /** Refused: seconds until one token is back (rounded up, at least 1). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed, ms on the table's clock. */
  at: number;
  /** When it will be full again if nothing takes from it: from then on it is the same as none. */
  fullAt: number;
}

/**
 * Token buckets by key (a client address, a token id, a function), in memory and bounded: at most
 * `maxBuckets`. A bucket that has refilled is the same as none, so it is dropped whenever room is
 * needed; when every bucket still holds a debt, the least recently used goes (its key starts over
 * with a full bucket: under a flood of distinct keys the limit errs on the generous side, the
 * memory never grows). A Map keeps insertion order, and a used bucket is moved to its end, so the
 * least recently used are the first.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  /** This node's part of each limit (1 alone; 1/n among n gateways of a cluster). */
  private part = 1;

  constructor(
    private readonly maxBuckets: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Scales every rule to `part` of it (rate and burst; a burst never below one call): n gateways
   * of a cluster each enforce 1/n, so together they never allow more than the limit.
   */
  share(part: number): void {
    this.part = part > 0 && part <= 1 ? part : 1;
  }

  /** Takes one token from `key`'s bucket under `whole` (this node's share of it). */
  take(key: string, whole: BucketRule): BucketTake {
    const rule = this.part === 1 ? whole : { rate: whole.rate * this.part, burst: Math.max(1, Math.floor(whole.burst * this.part)) };
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.rate);
      b.at = now;
      this.buckets.delete(key);
    } else {
      this.makeRoom(now);
      b = { tokens: rule.burst, at: now, fullAt: now };
    }
    this.buckets.set(key, b);
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    const toFull = (rule.burst - b.tokens) / rule.rate;
    b.fullAt = now + toFull * 1000;
    return {
      allowed,
      remaining: Math.floor(b.tokens),
      resetSeconds: Math.ceil(toFull),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / rule.rate)),
    };
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Before a new bucket: refilled ones among the oldest go, then the oldest if still full. */
  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxBuckets) return;
    let looked = 0;
    for (const [key, b] of this.buckets) {
      if (b.fullAt <= now) this.buckets.delete(key);
      if (++looked === 8) break;
    }
    while (this.buckets.size >= this.maxBuckets) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
