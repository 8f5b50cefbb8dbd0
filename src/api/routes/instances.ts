import type { InstancePool } from '../../core/index.js';
import type { FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';

/** What runs: instances of a function with their load. */
export function makeInstanceRoutes(svc: FunctionService, pool: InstancePool): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions/{name}/instances', tag: 'instances',
      summary: 'Running instances: version, state, since when, in-flight and served counts',
      success: { status: 200, description: '`{instances: [...]}`' },
      handler: async (c) => {
        await svc.getFunction(c.params.name!);
        const instances = pool.list(c.params.name!).map((i) => ({ ...i, startedAt: new Date(i.startedAt).toISOString() }));
        return { body: { instances } };
      },
    },
  ];
}
