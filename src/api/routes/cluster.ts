import type { NodeRecord, QueueStats } from '../../core/index.js';
import type { RouteDef } from '../route.js';

/** What the cluster view reads: the live nodes and the queues' fill. */
export interface ClusterView {
  /** Whether this server is a node of a cluster (`--role`, a NATS store). */
  clustered: boolean;
  /** This node's id, in a cluster. */
  self?: string;
  nodes(): Promise<NodeRecord[]>;
  queues(): Promise<Record<string, QueueStats>>;
}

/** `GET /v1/cluster`: the nodes with their load and warm versions, and the queues (what `ferry cluster status` prints). */
export function makeClusterRoutes(view: ClusterView): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/cluster', tag: 'system',
      summary: "The cluster: each live node's roles, address, load, capacity and warm versions (from its heartbeat), and each queue's waiting and running messages with the age of the oldest waiting one",
      success: { status: 200, description: '`{clustered, nodes: [{id, roles, address?, release, startedAt, at, load, capacity, warm, deployDir?}], queues: {executions: {pending, held, lagMs}, callbacks: ...}}`' },
      handler: async () => {
        const [nodes, queues] = await Promise.all([view.nodes(), view.queues()]);
        const now = Date.now();
        return {
          body: {
            clustered: view.clustered,
            nodes: nodes.map(({ instances: _i, pool: _p, ...n }) => ({ ...n, startedAt: new Date(n.startedAt).toISOString(), at: new Date(n.at).toISOString() })),
            queues: Object.fromEntries(Object.entries(queues).map(([name, s]) => [name, { pending: s.pending, held: s.held, lagMs: s.oldestPendingAt === undefined ? 0 : Math.max(0, now - s.oldestPendingAt) }])),
          },
        };
      },
    },
  ];
}
