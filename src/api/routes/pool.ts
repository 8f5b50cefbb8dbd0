import type { InstancePool } from '../../core/index.js';
import type { RouteDef } from '../route.js';

/** The pre-booted sandbox pool: whether it is on, and how full. */
export function makePoolRoutes(pool: InstancePool): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/pool', tag: 'instances',
      summary: 'The pre-booted sandbox pool: on or off (and why), its size per runtime, and per runtime the sandboxes waiting (with their host pids) and starting',
      success: { status: 200, description: '`{enabled, reason?, size, runtimes: [{runtime, ready, starting, pids}]}`' },
      handler: async () => ({ body: pool.poolStatus() }),
    },
  ];
}
