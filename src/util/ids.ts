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
// ids at a time and written through a byte-to-hex table: ~90 ns, where `randomUUID()` (a cache of
// 128) cost 0.8-1.6 µs of the gateway's CPU per call under load (docs/performance.md).
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
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
  return (
    hex[b[i]!]! + hex[b[i + 1]!] + hex[b[i + 2]!] + hex[b[i + 3]!] + '-' + hex[b[i + 4]!] + hex[b[i + 5]!] + '-' +
    hex[(b[i + 6]! & 0x0f) | 0x40] + hex[b[i + 7]!] + '-' + hex[(b[i + 8]! & 0x3f) | 0x80] + hex[b[i + 9]!] + '-' +
    hex[b[i + 10]!] + hex[b[i + 11]!] + hex[b[i + 12]!] + hex[b[i + 13]!] + hex[b[i + 14]!] + hex[b[i + 15]!]
  );
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
