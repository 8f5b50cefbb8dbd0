import type { FunctionService } from '../../service/index.js';
import { FerryError } from '../../errors/index.js';
import type { RouteDef } from '../route.js';
import { functionView } from '../views.js';

/** `/v1/functions` and `/v1/functions/{name}`. */
export function makeFunctionRoutes(svc: FunctionService): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions', tag: 'functions',
      summary: 'List functions',
      success: { status: 200, description: '`{functions: [...]}`' },
      handler: async (c) => {
        const out = [];
        for (const f of await svc.listFunctions(c.principal!)) out.push(functionView(f, await svc.listVersions(f.name), await svc.listAliases(f.name), c.baseUrl));
        return { body: { functions: out } };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}', tag: 'functions',
      summary: 'Get a function',
      success: { status: 200, description: 'The function' },
      handler: async (c) => {
        const f = await svc.getFunction(c.params.name!);
        return { body: functionView(f, await svc.listVersions(f.name), await svc.listAliases(f.name), c.baseUrl) };
      },
    },
    {
      method: 'PATCH', path: '/v1/functions/{name}', tag: 'functions', body: 'json',
      bodySchema: { type: 'object', required: ['owner'], properties: { owner: { type: 'string', description: 'singular:<user> or custom:<group>, a group you are in' } } },
      summary: 'Move a function to another owning group',
      success: { status: 200, description: 'The function' },
      handler: async (c) => {
        const b = (await c.json()) as { owner?: unknown } | null;
        if (!b || typeof b !== 'object' || typeof b.owner !== 'string' || Object.keys(b).length !== 1) throw new FerryError('invalid-body', 'expected {"owner": "custom:<group>"}');
        const f = await svc.setOwner(c.principal!, c.params.name!, b.owner);
        return { body: functionView(f, await svc.listVersions(f.name), await svc.listAliases(f.name), c.baseUrl) };
      },
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}', tag: 'functions',
      summary: 'Delete a function with all its versions, aliases, instances and logs',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await svc.deleteFunction(c.params.name!);
        return { status: 204 };
      },
    },
  ];
}
