import { effectiveGroups, type Principal } from '../auth/index.js';
import { FerryError } from '../errors/index.js';
import type { Accounts } from '../service/index.js';

/**
 * The principal a compat surface without credentials of its own acts as (`--compat-user`), looked
 * up at each use: groups changed meanwhile apply, and a removed user refuses.
 */
export async function compatPrincipal(accounts: Accounts, user: string, surface: string): Promise<Principal> {
  const rec = (await accounts.listUsers()).find((u) => u.name === user);
  if (!rec) throw new FerryError('forbidden', `--compat-user '${user}' is no user of this server`);
  return { subject: rec.name, groups: effectiveGroups(rec.name, rec.groups), tokenId: `compat:${surface}`, via: 'api-token' };
}
