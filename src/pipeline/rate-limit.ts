import { bucketRule, rateLimitedError, rateLimitHeaders, type DeployTarget, type Invocation, type Principal, type RateLimit } from '../core/index.js';
import type { TokenBuckets } from '../util/token-buckets.js';

/** Where the function rate limits keep their buckets, and how a caller's address is found. */
export interface FunctionRateLimits {
  /** One bounded table for every function's buckets (keys carry the function's name). */
  buckets: TokenBuckets;
  /** The client's address (`--trust-proxy` applied) for an invocation; a constant where there is none. */
  addressOf(inv: Invocation): string;
}

/**
 * The rate-limit stage of a function with `rateLimit`, after authorization (so callers who may not
 * call it cannot spend its budget): one token from the bucket of the function, of the caller's
 * address, or of the caller's token (a call authorized by none counts by its address). Over the
 * limit: 429 `rate-limited`; else the headers that tell the caller what is left.
 */
export function takeRateLimit(limits: FunctionRateLimits, limit: RateLimit, target: DeployTarget, inv: Invocation, who: Principal | undefined): string[] {
  const rule = bucketRule(limit);
  const per = limit.per ?? 'address';
  const key = per === 'function' ? '' : per === 'token' && who ? `t ${who.tokenId}` : `a ${limits.addressOf(inv)}`;
  const take = limits.buckets.take(`${target.function}\n${key}`, rule);
  if (!take.allowed) throw rateLimitedError(take, rule, `function '${target.function}'`);
  return rateLimitHeaders(take, rule);
}
