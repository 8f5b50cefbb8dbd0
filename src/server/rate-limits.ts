import { IncomingMessage } from 'node:http';
import { parseRateSpec, type ServerOptions } from '../config/index.js';
import type { Metrics } from '../observe/index.js';
import type { FunctionRateLimits } from '../pipeline/index.js';
import { rateGate, type Gate } from '../surfaces/index.js';
import { clientAddress } from '../api/client-address.js';
import { addressKey } from '../util/address-key.js';
import { IpList } from '../util/ip-list.js';
import { TokenBuckets } from '../util/token-buckets.js';

/**
 * The rate limits of one server, in its memory: three bounded tables (server-wide per address,
 * per token; every function's own `rateLimit`), the gate in front of the TCP listeners, and what
 * the pipeline needs for functions. The `ferry_rate_limit_buckets` gauge reports each table's size.
 * `share(n)`: this node is one of n gateways (docs/cluster.md, "Rate limits").
 */
export function makeRateLimits(opts: ServerOptions, metrics: Metrics): { gate: Gate | undefined; functions: FunctionRateLimits; share(gateways: number): void } {
  const trusted = new IpList(opts.trustProxy);
  const tables = { address: new TokenBuckets(opts.rateLimitBuckets), token: new TokenBuckets(opts.rateLimitBuckets), function: new TokenBuckets(opts.rateLimitBuckets) };
  metrics.watchRateLimits(() => ({ address: tables.address.size, token: tables.token.size, function: tables.function.size }));
  metrics.rateLimitShare.set(1);
  return {
    // In a cluster each of n gateways enforces 1/n of every limit: no store round trip per call.
    share: (gateways) => {
      const part = 1 / Math.max(1, gateways);
      for (const t of Object.values(tables)) t.share(part);
      metrics.rateLimitShare.set(part);
    },
    gate: rateGate({
      perAddress: parseRateSpec('--rate-limit-per-address', opts.rateLimitPerAddress),
      perToken: parseRateSpec('--rate-limit-per-token', opts.rateLimitPerToken),
      trusted,
      addresses: tables.address,
      tokens: tables.token,
    }),
    functions: {
      buckets: tables.function,
      // Front ends without an HTTP request (CoAP, gRPC) and the instance sockets share one key.
      addressOf: (inv) => (inv.origin instanceof IncomingMessage ? addressKey(clientAddress(inv.origin, trusted)) : 'unknown'),
    },
  };
}
