import type { InstancePool } from '../../core/index.js';
import type { RouteDef } from '../route.js';
import { isAdmin } from '../../auth/index.js';

/** The pre-booted sandbox pool: whether it is on, and how full. */
export function makePoolRoutes(pool: InstancePool): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/pool', tag: 'instances',
      summary: 'The pre-booted sandbox pool: on or off (and why), its size per runtime, and per runtime whether it is kept full (active: a function it can serve is deployed), the sandboxes waiting (with their host pids, for admins) and starting',
      success: { status: 200, description: '`{enabled, reason?, size, runtimes: [{runtime, active, ready, starting, pids}]}`; `pids` for admins only' },
      handler: async (c) => {
        const status = pool.poolStatus();
        // Host pids describe the host's process table: the operator's business, not a tenant's.
        if (c.principal !== undefined && isAdmin(c.principal)) return { body: status };
        return { body: { ...status, runtimes: status.runtimes.map(({ pids: _pids, ...r }) => r) } };
      },
    },
  ];
}
