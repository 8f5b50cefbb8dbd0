import type { ThrottleRecord, ThrottleStore } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** Failures are counted within this window; after it passes quietly the count starts over. */
const windowMs = 15 * 60_000;
/** First block once the limit is reached; doubles with every further failure, up to maxBlockMs. */
const baseBlockMs = 30_000;
const maxBlockMs = 15 * 60_000;
/** Failed tries on one name, from all clients together, counted per minute. */
const nameWindowMs = 60_000;
export const NAME_FAILURES_PER_MINUTE = 100;

/**
 * Throttles password guessing without handing anyone a way to lock a user out:
 * - per client address and name: `maxFailures` failures block that pair (30 s, doubling up to 15
 *   minutes); only the client that guessed waits;
 * - per client address, over all names: 4x the budget, the same back-off (one client spraying
 *   many names);
 * - per name, over all clients: past NAME_FAILURES_PER_MINUTE failures in a minute, clients that
 *   already failed on the name wait for the minute to end. A client with no failure on it still
 *   gets its try, so the owner's right password is never refused for what others did.
 * Counters live behind the store so every node of a cluster sees the same ones.
 */
export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly maxFailures: number,
  ) {}

  /** Throws `too-many-attempts` (429, Retry-After) while the client may not try this name. */
  async check(name: string, address: string, now = Date.now()): Promise<void> {
    if (this.maxFailures === 0) return;
    const [pair, addr, byName] = await Promise.all([this.store.get(pairKey(address, name)), this.store.get(addrKey(address)), this.store.get(nameKey(name))]);
    for (const t of [pair, addr]) if (t && t.blockedUntil > now) tooMany(t.blockedUntil - now);
    const pairFailed = pair !== undefined && pair.failures > 0 && now - pair.firstAt <= windowMs;
    if (pairFailed && byName && byName.blockedUntil > now) tooMany(byName.blockedUntil - now);
  }

  async fail(name: string, address: string, now = Date.now()): Promise<void> {
    if (this.maxFailures === 0) return;
    await this.backOff(pairKey(address, name), this.maxFailures, now);
    await this.backOff(addrKey(address), this.maxFailures * 4, now);
    const t = await this.store.get(nameKey(name));
    const fresh = !t || now - t.firstAt >= nameWindowMs;
    const firstAt = fresh ? now : t.firstAt;
    const failures = fresh ? 1 : t.failures + 1;
    await this.store.put({ key: nameKey(name), failures, firstAt, blockedUntil: failures >= NAME_FAILURES_PER_MINUTE ? firstAt + nameWindowMs : 0 });
  }

  /** A success clears the pair's counter (not the address's: one right password does not unlock a spray). */
  async succeed(name: string, address: string): Promise<void> {
    await this.store.delete(pairKey(address, name));
  }

  /** Counts a failure; at `max` and beyond, blocks for 30 s doubling with each further one. */
  private async backOff(key: string, max: number, now: number): Promise<void> {
    const t: ThrottleRecord | undefined = await this.store.get(key);
    const fresh = !t || (now - t.firstAt > windowMs && t.blockedUntil <= now);
    const failures = fresh ? 1 : t.failures + 1;
    const over = failures - max;
    const blockedUntil = over >= 0 ? now + Math.min(maxBlockMs, baseBlockMs * 2 ** Math.min(over, 10)) : 0;
    await this.store.put({ key, failures, firstAt: fresh ? now : t.firstAt, blockedUntil });
  }
}

// The address comes first and holds no space, so a name cannot forge another pair's key.
const pairKey = (address: string, name: string): string => `login:pair:${address} ${name}`;
const addrKey = (address: string): string => `login:addr:${address}`;
const nameKey = (name: string): string => `login:name:${name}`;

function tooMany(ms: number): never {
  const secs = Math.max(1, Math.ceil(ms / 1000));
  throw new FerryError('too-many-attempts', `too many failed logins; retry in ${secs} s`, { headers: { 'retry-after': String(secs) } });
}
