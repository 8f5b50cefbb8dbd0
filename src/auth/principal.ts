import type { Principal } from '../core/index.js';

export type { Principal };

/** What a route needs. `public` routes need no token at all. */
export type Permission = 'public' | 'read' | 'write' | 'execute' | 'remove' | 'admin';

/** The groups a principal acts with: its stored ones plus `singular:<name>`. */
export function effectiveGroups(subject: string, stored: readonly string[]): string[] {
  const own = `singular:${subject}`;
  return stored.includes(own) ? [...stored] : [...stored, own];
}

/** root (the boot admin) and permission:admin may do everything to everything. */
export function isAdmin(p: Principal): boolean {
  return p.groups.includes('root') || p.groups.includes('permission:admin');
}

/** Whether the principal holds the permission (root and admin hold every one). */
export function allows(p: Principal, needed: Permission): boolean {
  if (needed === 'public') return true;
  return isAdmin(p) || p.groups.includes(`permission:${needed}`);
}

/** Whether the principal is in `group` (admins count as members of every group). */
export function memberOf(p: Principal, group: string): boolean {
  return isAdmin(p) || p.groups.includes(group);
}

/**
 * What the principal may do to a function owned by `owner`: `yes`; `hidden` when it may not
 * even read it (the API answers 404, as if it did not exist); `forbidden` when it may read it but
 * lacks the permission (403).
 */
export function onFunction(p: Principal, needed: Permission, owner: string): 'yes' | 'hidden' | 'forbidden' {
  if (isAdmin(p)) return 'yes';
  const member = p.groups.includes(owner);
  // An execute-only member (a service account) may call without reading.
  if (needed === 'execute' && member && allows(p, 'execute')) return 'yes';
  if (!member || !allows(p, 'read')) return 'hidden';
  return allows(p, needed) ? 'yes' : 'forbidden';
}
