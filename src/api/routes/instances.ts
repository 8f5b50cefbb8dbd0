import type { InstancePool } from '../../core/index.js';
import type { FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';
import { isAdmin } from '../../auth/index.js';

/** What runs: instances of a function with their load. */
export function makeInstanceRoutes(svc: FunctionService, pool: InstancePool): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions/{name}/instances', tag: 'instances',
      summary: 'Running instances: version, state, since when, in-flight and served counts, memory in use (host pids for admins)',
      success: { status: 200, description: '`{instances: [...]}`; `memoryBytes` null when the driver cannot tell; `pid` for admins only' },
      handler: async (c) => {
        await svc.getFunction(c.params.name!);
        // Host pids describe the host's process table: the operator's business, not a tenant's.
        const admin = c.principal !== undefined && isAdmin(c.principal);
        const instances = await Promise.all(
          pool.list(c.params.name!).map(async ({ pid, ...i }) => ({ ...i, ...(admin ? { pid } : {}), startedAt: new Date(i.startedAt).toISOString(), memoryBytes: (await pool.memoryOf(i.id)) ?? null })),
        );
        return { body: { instances } };
      },
    },
  ];
}
