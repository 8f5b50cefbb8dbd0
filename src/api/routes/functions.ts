import type { FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';
import { functionView } from '../views.js';

/** `/v1/functions` and `/v1/functions/{name}`. */
export function makeFunctionRoutes(svc: FunctionService): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions', permission: 'read', tag: 'functions',
      summary: 'List functions',
      success: { status: 200, description: '`{functions: [...]}`' },
      handler: async (c) => {
        const out = [];
        for (const f of await svc.listFunctions()) out.push(functionView(f, await svc.listVersions(f.name), await svc.listAliases(f.name), c.baseUrl));
        return { body: { functions: out } };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}', permission: 'read', tag: 'functions',
      summary: 'Get a function',
      success: { status: 200, description: 'The function' },
      handler: async (c) => {
        const f = await svc.getFunction(c.params.name!);
        return { body: functionView(f, await svc.listVersions(f.name), await svc.listAliases(f.name), c.baseUrl) };
      },
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}', permission: 'remove', tag: 'functions',
      summary: 'Delete a function with all its versions, aliases, instances and logs',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await svc.deleteFunction(c.params.name!);
        return { status: 204 };
      },
    },
  ];
}
