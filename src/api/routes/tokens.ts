import type { TokenRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import type { Accounts } from '../../service/index.js';
import type { RouteDef } from '../route.js';
import { optionalJson } from './auth.js';

/** A token as listings show it: prefix and dates, never the token or its hash. */
function tokenView(t: TokenRecord) {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return { id: t.id, prefix: t.prefix, user: t.subject, label: t.label, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt) };
}

/** Long-lived API tokens: create (shown once), list, revoke. */
export function makeTokenRoutes(accounts: Accounts): RouteDef[] {
  return [
    {
      method: 'POST', path: '/v1/tokens', tag: 'tokens', body: 'json',
      bodySchema: { type: 'object', properties: { days: { type: 'number' }, seconds: { type: 'number' }, user: { type: 'string' }, label: { type: 'string' } } },
      summary: 'Create an API token (default 30 days); the token is in this answer only',
      success: { status: 201, description: '`{token, id, prefix, expiresAt, ...}`' },
      handler: async (c) => {
        const { token, rec } = await accounts.createToken(c.principal!, await optionalJson(c));
        return { status: 201, body: { token, ...tokenView(rec) } };
      },
    },
    {
      method: 'GET', path: '/v1/tokens', tag: 'tokens',
      query: [
        { name: 'user', description: "another user's tokens (admins)" },
        { name: 'all', description: "everyone's tokens (admins)", type: 'boolean' },
      ],
      summary: 'List API tokens (your own)',
      success: { status: 200, description: '`{tokens: [...]}`' },
      handler: async (c) => {
        const all = c.query.get('all');
        if (all !== null && all !== 'true' && all !== 'false') throw new FerryError('invalid-query', 'all: true or false');
        const list = await accounts.listTokens(c.principal!, c.query.get('user') ?? undefined, all === 'true');
        return { body: { tokens: list.map(tokenView) } };
      },
    },
    {
      method: 'DELETE', path: '/v1/tokens/{id}', tag: 'tokens',
      summary: 'Revoke an API token',
      success: { status: 204, description: 'Revoked' },
      handler: async (c) => {
        await accounts.revokeToken(c.principal!, c.params.id!);
        return { status: 204 };
      },
    },
  ];
}
