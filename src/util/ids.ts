import { randomBytes, randomFillSync } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** 10 characters of [0-9a-z]: short enough for Unix socket paths, ~51 bits of randomness. */
export function shortId(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += alphabet[b % 36];
  return s;
}

// Request ids are shown in answers and logs, and a caller may send its own, so they need not be
// secret; but a counter would tell every tenant how many calls the server took between two of
// theirs. So each is 122 random bits in a version-4 UUID, cut from a buffer the CSPRNG fills 4,096
// ids at a time, its hex digits written into one 36-byte line that becomes one flat string: ~60 ns,
// where `randomUUID()` (a cache of 128) cost 0.8-1.6 µs of the gateway's CPU per call under load,
// and joining 24 pieces made a string V8 had to flatten again when it was written (docs/performance.md).
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 bytes' two hex digits go in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const uuidLine = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
const uuidPool = Buffer.alloc(16 * 4096);
let uuidAt = uuidPool.length;

/** Request ids: version-4 UUIDs, unique and unpredictable, cheap, and fine to show to users. */
export function requestId(): string {
  if (uuidAt === uuidPool.length) {
    randomFillSync(uuidPool);
    uuidAt = 0;
  }
  const b = uuidPool;
  const i = uuidAt;
  uuidAt += 16;
  b[i + 6] = (b[i + 6]! & 0x0f) | 0x40; // version 4
  b[i + 8] = (b[i + 8]! & 0x3f) | 0x80; // variant 10
  const line = uuidLine;
  for (let k = 0; k < 16; k++) {
    const v = b[i + k]!;
    const at = DIGIT_AT[k]!;
    line[at] = HEX_DIGITS[v >> 4]!;
    line[at + 1] = HEX_DIGITS[v & 15]!;
  }
  return line.toString('latin1', 0, 36);
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
