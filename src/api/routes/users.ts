import type { UserRecord } from '../../core/index.js';
import { effectiveGroups } from '../../auth/index.js';
import type { Accounts } from '../../service/index.js';
import type { RouteDef } from '../route.js';

const userBody = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,62}$' }, password: { type: 'string', format: 'password' }, groups: { type: 'array', items: { type: 'string' } } },
};

/** A user as the API shows it: never the password hash. */
export function userView(u: UserRecord) {
  return { name: u.name, groups: effectiveGroups(u.name, u.groups), hasPassword: u.passwordHash !== null, createdAt: new Date(u.createdAt).toISOString(), updatedAt: new Date(u.updatedAt).toISOString() };
}

/** Users: admins manage everyone; a user reads itself and changes its own password. */
export function makeUserRoutes(accounts: Accounts): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/users', tag: 'users',
      summary: 'List users',
      success: { status: 200, description: '`{users: [...]}`' },
      handler: async () => ({ body: { users: (await accounts.listUsers()).map(userView) } }),
    },
    {
      method: 'POST', path: '/v1/users', tag: 'users', body: 'json', bodySchema: { ...userBody, required: ['name'] },
      summary: 'Create a user (groups default to --default-groups)',
      success: { status: 201, description: 'The user' },
      handler: async (c) => {
        const u = await accounts.createUser(await c.json());
        return { status: 201, body: userView(u), headers: { location: `/v1/users/${u.name}` } };
      },
    },
    {
      method: 'GET', path: '/v1/users/{name}', tag: 'users',
      summary: 'Get a user (yourself, or anyone as an admin)',
      success: { status: 200, description: 'The user' },
      handler: async (c) => ({ body: userView(await accounts.getUser(c.principal!, c.params.name!)) }),
    },
    {
      method: 'PATCH', path: '/v1/users/{name}', tag: 'users', body: 'json', bodySchema: userBody,
      summary: 'Change a password (yourself) or groups (admins)',
      success: { status: 200, description: 'The user' },
      handler: async (c) => ({ body: userView(await accounts.patchUser(c.principal!, c.params.name!, await c.json())) }),
    },
    {
      method: 'DELETE', path: '/v1/users/{name}', tag: 'users',
      summary: 'Delete a user and revoke its tokens (what its groups own stays)',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await accounts.deleteUser(c.principal!, c.params.name!);
        return { status: 204 };
      },
    },
  ];
}
