/** `ferry cluster status`: the live nodes (roles, load, warm versions) and the queues' depth and lag. */
import type { Command } from 'commander';
import { json, processIO, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

interface ClusterAnswer {
  clustered: boolean;
  nodes: Array<{ id: string; roles: string[]; address?: string; release: string; at: string; load: { inFlight: number; instances: number; executions: number }; capacity: { instances: number; memoryMb: number }; warm: string[] }>;
  queues: Record<string, { pending: number; held: number; lagMs: number }>;
}

export function register(program: Command, io: IO = processIO): void {
  const cluster = program.command('cluster').description('the nodes of a cluster and its queues');
  connectionOptions(
    cluster
      .command('status')
      .description("each live node's roles, address, load and warm versions, and each queue's waiting and running executions and lag (admin)")
      .option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<ClusterAnswer>('GET', '/v1/cluster');
    if (opts.json) return void io.stdout.write(json(r));
    if (!r.clustered) io.stdout.write('One node (no --role, embedded store): no cluster.\n');
    else if (r.nodes.length === 0) io.stdout.write('No live node.\n');
    else {
      io.stdout.write(table(['NODE', 'ROLES', 'ADDRESS', 'IN FLIGHT', 'INSTANCES', 'EXECUTIONS', 'WARM'], r.nodes.map((n) => [n.id, n.roles.join(','), n.address ?? '-', String(n.load.inFlight), `${n.load.instances}/${n.capacity.instances}`, String(n.load.executions), n.warm.length ? n.warm.join(' ') : '-'])));
    }
    io.stdout.write(table(['QUEUE', 'WAITING', 'RUNNING', 'LAG'], Object.entries(r.queues).map(([name, q]) => [name, String(q.pending), String(q.held), `${(q.lagMs / 1000).toFixed(1)}s`])));
  });
}
