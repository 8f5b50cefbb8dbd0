import { randomBytes, randomUUID } from 'node:crypto';

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
