import { randomBytes } from 'node:crypto';
import { ACCESS_TOKEN_KEY_SET } from '../auth/index.js';
import { SECRETS_KEY_SET } from '../service/index.js';
import { stores } from '../store/index.js';

/** What a rotation made of one key set. */
export interface RotatedKeySet {
  name: string;
  /** Id of the new current key. */
  current: string;
  /** How many keys the set has now (each still verifies and opens). */
  keys: number;
}

/**
 * `ferry keys rotate`: a new current key for the access-token and the secrets key sets of a data
 * dir. The earlier keys stay, so tokens and secrets made with them keep working; servers running
 * on the data dir verify and open with the new key as soon as they meet it, and sign and seal
 * with it from their next start.
 */
export async function rotateKeys(dataDir: string): Promise<RotatedKeySet[]> {
  const store = await stores.sqlite({ dataDir });
  try {
    const out: RotatedKeySet[] = [];
    for (const name of [ACCESS_TOKEN_KEY_SET, SECRETS_KEY_SET]) {
      const set = await store.keys.rotate(name, () => randomBytes(32));
      out.push({ name, current: set.current.id, keys: set.keys.length });
    }
    return out;
  } finally {
    await store.close();
  }
}
