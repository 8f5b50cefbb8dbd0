import type { ThrottleStore } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** Failures are counted within this window; after it passes quietly the count starts over. */
const windowMs = 15 * 60_000;
/** First block once the limit is reached; doubles with every further failure, up to maxBlockMs. */
const baseBlockMs = 30_000;
const maxBlockMs = 15 * 60_000;

/**
 * Throttles password guessing: failures are counted per user name and per client address (the
 * address gets 4x the budget, so one client spraying many names is slowed too). Counters live
 * behind the store so every node of a cluster sees the same ones.
 */
export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly maxFailures: number,
  ) {}

  private keys(name: string, address: string): Array<[string, number]> {
    return [
      [`login:user:${name}`, this.maxFailures],
      [`login:addr:${address}`, this.maxFailures * 4],
    ];
  }

  /** Throws `too-many-attempts` (429, Retry-After) while either counter is blocked. */
  async check(name: string, address: string, now = Date.now()): Promise<void> {
    if (this.maxFailures === 0) return;
    for (const [key] of this.keys(name, address)) {
      const t = await this.store.get(key);
      if (t && t.blockedUntil > now) {
        const secs = Math.ceil((t.blockedUntil - now) / 1000);
        throw new FerryError('too-many-attempts', `too many failed logins; retry in ${secs} s`, { headers: { 'retry-after': String(secs) } });
      }
    }
  }

  async fail(name: string, address: string, now = Date.now()): Promise<void> {
    if (this.maxFailures === 0) return;
    for (const [key, max] of this.keys(name, address)) {
      const t = await this.store.get(key);
      const fresh = !t || (now - t.firstAt > windowMs && t.blockedUntil <= now);
      const failures = fresh ? 1 : t.failures + 1;
      const over = failures - max;
      const blockedUntil = over >= 0 ? now + Math.min(maxBlockMs, baseBlockMs * 2 ** Math.min(over, 10)) : 0;
      await this.store.put({ key, failures, firstAt: fresh ? now : t.firstAt, blockedUntil });
    }
  }

  /** A success clears the name's counter (not the address's: one right password does not unlock a spray). */
  async succeed(name: string): Promise<void> {
    await this.store.delete(`login:user:${name}`);
  }
}
