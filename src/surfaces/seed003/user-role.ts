import type { UserRecord } from '../../core/index.js';
import { effectiveGroups } from '../../auth/index.js';

/** The seed's role of a Ferry user: `admin` for root and `permission:admin`, else `user`. */
export function roleOf(u: UserRecord): 'admin' | 'user' {
  const groups = effectiveGroups(u.name, u.groups);
  return groups.includes('root') || groups.includes('permission:admin') ? 'admin' : 'user';
}
