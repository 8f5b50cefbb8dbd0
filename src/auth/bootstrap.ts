import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../core/index.js';
import { shortId } from '../util/ids.js';
import { generateToken, hashToken } from './tokens.js';

/**
 * First start: creates the admin token, writes it to `<data-dir>/admin-token` (0600, atomically)
 * and answers it so the server can print it once. Later starts answer undefined.
 */
export async function bootstrapAdminToken(store: Store, dataDir: string): Promise<string | undefined> {
  if ((await store.countTokens()) > 0) return undefined;
  const token = generateToken();
  const file = join(dataDir, 'admin-token');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, file);
  await store.createToken({
    id: shortId(),
    hash: hashToken(token),
    prefix: token.slice(0, 10),
    subject: 'admin',
    groups: ['root'],
    createdAt: Date.now(),
    expiresAt: null,
    revokedAt: null,
  });
  return token;
}
