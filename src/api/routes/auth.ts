import type { Accounts } from '../../service/index.js';
import type { ApiContext, RouteDef } from '../route.js';
import type { IpList } from '../../util/ip-list.js';
import { clientAddress } from '../client-address.js';

const credentials = {
  type: 'object',
  required: ['name', 'password'],
  properties: { name: { type: 'string' }, password: { type: 'string', format: 'password' }, invite: { type: 'string' } },
};
const refreshBody = { type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string' } } };

/** Registration, login, refresh and logout (public), who-am-i, and invites (admin). */
export function makeAuthRoutes(accounts: Accounts, trustedProxies: IpList): RouteDef[] {
  /** The client's address, for login throttling. */
  const address = (c: ApiContext): string => clientAddress(c.req, trustedProxies);
  return [
    {
      method: 'POST', path: '/v1/auth/register', tag: 'auth', body: 'json', bodySchema: credentials,
      summary: 'Create an account and log in (only if --registration is open, or invite with an invite)',
      success: { status: 201, description: 'A session: access token, refresh token' },
      handler: async (c) => ({ status: 201, body: await accounts.register(await c.json(), address(c)) }),
    },
    {
      method: 'POST', path: '/v1/auth/login', tag: 'auth', body: 'json', bodySchema: credentials,
      summary: 'Log in with name and password: a short-lived access token and a refresh token',
      success: { status: 200, description: 'A session: access token, refresh token' },
      handler: async (c) => ({ body: await accounts.login(await c.json(), address(c)) }),
    },
    {
      method: 'POST', path: '/v1/auth/refresh', tag: 'auth', body: 'json', bodySchema: refreshBody,
      summary: 'Trade a refresh token (single use) for a new session',
      success: { status: 200, description: 'A new session' },
      handler: async (c) => ({ body: await accounts.refresh(await c.json()) }),
    },
    {
      method: 'POST', path: '/v1/auth/logout', tag: 'auth', body: 'json', bodySchema: refreshBody,
      summary: 'Revoke a refresh token',
      success: { status: 204, description: 'Revoked (or already invalid)' },
      handler: async (c) => {
        await accounts.logout(await c.json());
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/v1/auth/whoami', tag: 'auth',
      summary: 'The caller: user name and groups',
      success: { status: 200, description: '`{user, groups, via}`' },
      handler: async (c) => ({ body: { user: c.principal!.subject, groups: c.principal!.groups, via: c.principal!.via } }),
    },
    {
      method: 'POST', path: '/v1/auth/invites', tag: 'auth', body: 'json',
      bodySchema: { type: 'object', properties: { days: { type: 'number' }, seconds: { type: 'number' } } },
      summary: 'Create a single-use registration invite (for --registration invite)',
      success: { status: 201, description: '`{invite, expiresAt}`' },
      handler: async (c) => ({ status: 201, body: await accounts.invite(c.principal!, await optionalJson(c)) }),
    },
  ];
}

/** A JSON body where one is optional: none (or an empty one) reads as `{}`. */
export async function optionalJson(c: ApiContext): Promise<unknown> {
  const len = c.req.headers['content-length'];
  if ((len === undefined || len === '0') && c.req.headers['transfer-encoding'] === undefined) return {};
  return c.json();
}
