/** Who is calling: a token's subject and its groups (tenancy adds users behind them). */
export interface Principal {
  subject: string;
  groups: string[];
  tokenId: string;
}

/** What a route needs. `public` routes need no token at all. */
export type Permission = 'public' | 'read' | 'write' | 'execute' | 'remove' | 'admin';

/** Whether the principal holds the permission (root and admin hold every one). */
export function allows(p: Principal, needed: Permission): boolean {
  if (needed === 'public') return true;
  const g = p.groups;
  return g.includes('root') || g.includes('permission:admin') || g.includes(`permission:${needed}`);
}
