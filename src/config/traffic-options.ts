import type { ServerOptions } from './options.js';
import { parseRateSpec } from './rate-spec.js';
import { originPattern } from '../util/origin-pattern.js';

const origin = new RegExp(originPattern);

/** The CORS and rate-limit settings checked at start: a typo stops the server, never opens it wider. */
export function checkTrafficOptions(opts: ServerOptions): void {
  opts.corsOrigin = opts.corsOrigin.map((o) => o.toLowerCase());
  for (const o of opts.corsOrigin) if (!origin.test(o)) throw new Error(`--cors-origin: '${o}' is not an origin (https://host[:port], https://*.domain, or *)`);
  if (opts.corsCredentials && opts.corsOrigin.includes('*')) throw new Error('--cors-credentials: not with --cors-origin *, which would let every site act with its visitors\' credentials');
  parseRateSpec('--rate-limit-per-address', opts.rateLimitPerAddress);
  parseRateSpec('--rate-limit-per-token', opts.rateLimitPerToken);
  if (opts.rateLimitBuckets < 1) throw new Error('--rate-limit-buckets: at least 1');
}
