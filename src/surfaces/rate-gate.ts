import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendProblem } from '../errors/index.js';
import { bucketRule, rateLimitedError, rateLimitHeaders } from '../core/index.js';
import type { RateSpec } from '../config/index.js';
import { clientAddress } from '../api/client-address.js';
import { addressKey } from '../util/address-key.js';
import type { IpList } from '../util/ip-list.js';
import type { BucketRule, BucketTake, TokenBuckets } from '../util/token-buckets.js';

/** Decides before any surface whether a request may go on; a refused one is already answered. */
export type Gate = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The server-wide rate limits (`--rate-limit-per-address`, `--rate-limit-per-token`), in front of
 * every surface of the TCP listeners: one bucket per client address (`--trust-proxy` applied,
 * IPv6 by /64) and one per bearer credential (kept by its hash, never as it is). Undefined when
 * both are off, so the listeners then pay nothing.
 */
export function rateGate(o: { perAddress?: RateSpec | undefined; perToken?: RateSpec | undefined; trusted: IpList; addresses: TokenBuckets; tokens: TokenBuckets }): Gate | undefined {
  const perAddress = o.perAddress && bucketRule(o.perAddress);
  const perToken = o.perToken && bucketRule(o.perToken);
  if (!perAddress && !perToken) return undefined;
  return (req, res) => {
    let tightest: { take: BucketTake; rule: BucketRule } | undefined;
    const limits: Array<[BucketRule | undefined, () => string | undefined, TokenBuckets, string]> = [
      [perAddress, () => addressKey(clientAddress(req, o.trusted)), o.addresses, 'client address'],
      [perToken, () => credentialKey(req.headers.authorization), o.tokens, 'token'],
    ];
    for (const [rule, keyOf, table, what] of limits) {
      const key = rule && keyOf();
      if (!rule || key === undefined) continue;
      const take = table.take(key, rule);
      if (!take.allowed) {
        // Drain what the client still sends so it reads the answer rather than a reset.
        if (!req.readableEnded) req.resume();
        sendProblem(res, rateLimitedError(take, rule, `this ${what}`), req.url);
        return false;
      }
      if (!tightest || take.remaining < tightest.take.remaining) tightest = { take, rule };
    }
    if (tightest) {
      const h = rateLimitHeaders(tightest.take, tightest.rule);
      for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
    }
    return true;
  };
}

/** A bearer credential as a bucket key: its hash, so the table holds no usable secret. */
function credentialKey(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  return createHash('sha256').update(authorization).digest('base64url').slice(0, 22);
}
