import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** 10 characters of [0-9a-z]: short enough for Unix socket paths, ~51 bits of randomness. */
export function shortId(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += alphabet[b % 36];
  return s;
}

/** Request ids: unique, cheap, and fine to show to users. */
export function requestId(): string {
  return randomUUID();
}

// Filled 256 ids at a time: one call into the CSPRNG per id cost more than the rest of an
// asynchronous acceptance's id handling (the same reason randomUUID keeps a cache).
const pool = Buffer.alloc(16 * 256);
let used = pool.length;

/** 128 random bits as 32 hex digits (execution ids: a capability, so all 128 bits are random). */
export function hexId128(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 16;
  return pool.toString('hex', used - 16, used);
}
