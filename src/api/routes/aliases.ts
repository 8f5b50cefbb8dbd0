import type { FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';
import { aliasView } from '../views.js';

const aliasBody = {
  oneOf: [
    { type: 'object', required: ['version'], properties: { version: { type: 'string' } }, additionalProperties: false },
    { type: 'object', required: ['weights'], properties: { weights: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } } }, additionalProperties: false },
  ],
};

/** Aliases: a movable name for a version, or a weighted split between versions. */
export function makeAliasRoutes(svc: FunctionService): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions/{name}/aliases', tag: 'aliases',
      summary: 'List aliases',
      success: { status: 200, description: '`{aliases: [...]}`' },
      handler: async (c) => ({ body: { aliases: (await svc.listAliases(c.params.name!)).map((a) => aliasView(a, c.baseUrl)) } }),
    },
    {
      method: 'PUT', path: '/v1/functions/{name}/aliases/{alias}', tag: 'aliases', body: 'json', bodySchema: aliasBody,
      summary: 'Point an alias at a version, or split it by weight: {"weights": {"v1": 90, "v2": 10}}',
      success: { status: 200, description: 'The alias' },
      handler: async (c) => ({ body: aliasView(await svc.putAlias(c.params.name!, c.params.alias!, await c.json()), c.baseUrl) }),
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}/aliases/{alias}', tag: 'aliases',
      summary: 'Remove an alias',
      success: { status: 204, description: 'Removed' },
      handler: async (c) => {
        await svc.deleteAlias(c.params.name!, c.params.alias!);
        return { status: 204 };
      },
    },
  ];
}
