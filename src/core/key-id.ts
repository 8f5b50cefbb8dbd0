import { createHash } from 'node:crypto';

/**
 * The id of a key of a key set: 16 hex digits of the sha256 of the key. Derived, not assigned, so
 * every node (and a key from before key ids existed) gets the same id without storing one, and
 * the id tells nothing of the key.
 */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('ferry-key-id\0').update(key).digest('hex').slice(0, 16);
}
