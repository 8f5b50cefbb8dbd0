import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../core/index.js';
import { shortId } from '../util/ids.js';
import { generateToken, hashToken } from './tokens.js';

/** Name of the boot admin: group `root`, owner of every function from before users existed. */
export const bootAdmin = 'admin';

/**
 * Makes sure the boot admin user exists, and on the very first start creates its API token,
 * writes it to `<data-dir>/admin-token` (0600, atomically) and answers it so the server can print
 * it once. Later starts answer undefined.
 */
export async function bootstrapAdmin(store: Store, dataDir: string): Promise<string | undefined> {
  if (!(await store.users.get(bootAdmin))) {
    const now = Date.now();
    await store.users.create({ name: bootAdmin, passwordHash: null, groups: ['root'], createdAt: now, updatedAt: now }).catch(async (err) => {
      // Another process on the same data dir made it first.
      if (!(await store.users.get(bootAdmin))) throw err;
    });
  }
  if ((await store.tokens.count()) > 0) return undefined;
  const token = generateToken();
  const file = join(dataDir, 'admin-token');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, file);
  await store.tokens.create({
    id: shortId(),
    kind: 'api',
    hash: hashToken(token),
    prefix: token.slice(0, 10),
    subject: bootAdmin,
    groups: ['root'],
    label: 'boot admin',
    createdAt: Date.now(),
    expiresAt: null,
    revokedAt: null,
  });
  return token;
}
