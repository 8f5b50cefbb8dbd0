import type { Secrets } from '../../service/index.js';
import type { RouteDef } from '../route.js';

const groupQuery = { name: 'group', description: 'owning group: singular:<user> (default: yours) or custom:<name>, one you are in' };

/** Secrets: names and metadata only ever leave the server, never values. */
export function makeSecretRoutes(secrets: Secrets): RouteDef[] {
  return [
    {
      method: 'POST', path: '/v1/secrets', tag: 'secrets', body: 'json',
      bodySchema: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string', writeOnly: true }, group: { type: 'string' } } },
      summary: 'Create a secret (409 if it exists); encrypted at rest',
      success: { status: 201, description: '`{name, group, createdAt, updatedAt}`' },
      handler: async (c) => {
        const m = await secrets.create(c.principal!, await c.json());
        return { status: 201, body: m, headers: { location: `/v1/secrets/${m.name}${m.group.startsWith('custom:') ? `?group=${m.group}` : ''}` } };
      },
    },
    {
      method: 'GET', path: '/v1/secrets', tag: 'secrets', query: [groupQuery],
      summary: 'List the secrets of your groups: names and metadata, never values',
      success: { status: 200, description: '`{secrets: [...]}`' },
      handler: async (c) => ({ body: { secrets: await secrets.list(c.principal!, c.query.get('group') ?? undefined) } }),
    },
    {
      method: 'PUT', path: '/v1/secrets/{name}', tag: 'secrets', body: 'json', query: [groupQuery],
      bodySchema: { type: 'object', required: ['value'], properties: { value: { type: 'string', writeOnly: true } } },
      summary: 'Create or replace a secret; running functions that use it get new instances',
      success: { status: 200, description: 'The metadata (201 when created)' },
      handler: async (c) => {
        const { meta, created } = await secrets.put(c.principal!, c.params.name!, await c.json(), c.query.get('group') ?? undefined);
        return { status: created ? 201 : 200, body: meta };
      },
    },
    {
      method: 'DELETE', path: '/v1/secrets/{name}', tag: 'secrets', query: [groupQuery],
      summary: 'Delete a secret (instances that use it keep running; new ones fail to start)',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await secrets.remove(c.principal!, c.params.name!, c.query.get('group') ?? undefined);
        return { status: 204 };
      },
    },
  ];
}
