import { FerryError } from '../../errors/index.js';
import { allows, type Permission, type Principal } from '../../auth/index.js';

/** The caller's permission, checked before its request is read: 403 names what it lacks. */
export function need(actor: Principal, perm: Exclude<Permission, 'public'>): void {
  if (!allows(actor, perm)) throw new FerryError('forbidden', `this needs permission:${perm}`);
}
