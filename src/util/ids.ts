import { randomBytes, randomFillSync } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** 10 characters of [0-9a-z]: short enough for Unix socket paths, ~51 bits of randomness. */
export function shortId(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += alphabet[b % 36];
  return s;
}

// A request id must be unique, not secret: a caller may send its own, and it is shown in answers
// and logs. So a new one is this process's random part (72 bits, drawn once) and a counter, in
// the shape of a UUID (version 4, RFC 4122 variant). `randomUUID()` drew 122 random bits for each
// call instead, ~2% of the gateway's CPU per call (docs/performance.md).
const idPrefix = ((h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-${'89ab'[parseInt(h[15]!, 16) & 3]}${h.slice(16, 19)}-`)(randomBytes(10).toString('hex'));
let idCount = 0;

/** Request ids: unique, cheap, and fine to show to users. */
export function requestId(): string {
  idCount = idCount === 0xffffffffffff ? 1 : idCount + 1;
  return idPrefix + idCount.toString(16).padStart(12, '0');
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
