import { randomBytes } from 'node:crypto';
import { ACCESS_TOKEN_KEY_SET } from '../auth/index.js';
import { SECRETS_KEY_SET } from '../service/index.js';
import { loadServerOptions } from '../config/index.js';
import { openStore, storeKindOf } from '../store/index.js';
import { natsLogin } from './nats-login.js';

/** What a rotation made of one key set. */
export interface RotatedKeySet {
  name: string;
  /** Id of the new current key. */
  current: string;
  /** How many keys the set has now (each still verifies and opens). */
  keys: number;
}

/**
 * `ferry keys rotate`: a new current key for the access-token and the secrets key sets of the
 * store: the data dir's, or with `store` a NATS URL, the one every node shares (its login from
 * the same settings and variables as the server's). The earlier keys stay, so tokens and secrets
 * made with them keep working; servers on the store verify and open with the new key as soon as
 * they meet it, and sign and seal with it from their next start.
 */
export async function rotateKeys(where: { dataDir: string; store?: string }, env: NodeJS.ProcessEnv = process.env): Promise<RotatedKeySet[]> {
  const opts = loadServerOptions({ dataDir: where.dataDir, ...(where.store ? { store: where.store } : {}) }, env);
  const nats = storeKindOf(opts.store) === 'nats' ? await natsLogin(opts, env) : undefined;
  const store = await openStore(opts.store, { dataDir: opts.dataDir, ...(nats ? { nats, natsPrefix: opts.natsPrefix } : {}) });
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
