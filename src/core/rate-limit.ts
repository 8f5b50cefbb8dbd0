import { FerryError } from '../errors/index.js';
import type { BucketRule, BucketTake } from '../util/token-buckets.js';
import type { RateLimit } from './manifest.js';

/** A rate limit (a function's, or a server setting's) as a token bucket's rule. */
export function bucketRule(limit: Pick<RateLimit, 'requestsPerSecond' | 'burst'>): BucketRule {
  return { rate: limit.requestsPerSecond, burst: limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond)) };
}

/**
 * The rate-limit answer headers, in the separate-field form of the IETF httpapi drafts up to
 * draft-ietf-httpapi-ratelimit-headers-06: `RateLimit-Limit` (the bucket's size),
 * `RateLimit-Remaining` (calls left now), `RateLimit-Reset` (seconds until the bucket is full).
 */
export function rateLimitHeaders(take: BucketTake, rule: BucketRule): string[] {
  return ['ratelimit-limit', String(rule.burst), 'ratelimit-remaining', String(take.remaining), 'ratelimit-reset', String(take.resetSeconds)];
}

/** 429 `rate-limited`, with `Retry-After` and the rate-limit headers. */
export function rateLimitedError(take: BucketTake, rule: BucketRule, what: string): FerryError {
  const h = rateLimitHeaders(take, rule);
  const headers: Record<string, string> = { 'retry-after': String(take.retryAfterSeconds) };
  for (let i = 0; i < h.length; i += 2) headers[h[i]!] = h[i + 1]!;
  return new FerryError('rate-limited', `${what}: over ${rule.rate} calls a second (burst ${rule.burst}); retry after ${take.retryAfterSeconds}s`, { headers });
}
