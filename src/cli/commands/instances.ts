/** `ferry start|stop <name[@ref]>`, `ferry instances <name>` and `ferry pool`: what runs. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg } from '../client.js';
import { formatBytes, formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';
import { resolveVersion } from './target.js';

interface InstanceView {
  id: string;
  version: string;
  state: string;
  startedAt: string;
  inFlight: number;
  served: number;
  origin?: string;
  pid?: number;
  /** Null when the driver cannot tell. */
  memoryBytes?: number | null;
}

interface PoolView {
  enabled: boolean;
  reason?: string;
  size: number;
  runtimes: Array<{ runtime: string; active?: boolean; ready: number; starting: number; pids?: number[] }>;
}

function instancesTable(list: InstanceView[]): string {
  if (list.length === 0) return 'No instances running.\n';
  return table(
    ['ID', 'VERSION', 'STATE', 'IN FLIGHT', 'SERVED', 'MEMORY', 'ORIGIN', 'PID', 'STARTED'],
    list.map((i) => [i.id.slice(0, 12), i.version, i.state, String(i.inFlight), String(i.served), typeof i.memoryBytes === 'number' ? formatBytes(i.memoryBytes) : '-', str(i.origin), str(i.pid), formatTime(i.startedAt)]),
  );
}

function poolText(p: PoolView): string {
  const head = `pool: ${p.enabled ? `on, ${p.size} per runtime` : `off${p.reason ? ` (${p.reason})` : ''}`}\n`;
  if (!p.runtimes.length) return head;
  // ACTIVE no: no function its sandboxes can serve is deployed, so none is kept waiting.
  return head + table(['RUNTIME', 'ACTIVE', 'READY', 'STARTING', 'PIDS'], p.runtimes.map((r) => [r.runtime, r.active === false ? 'no' : 'yes', String(r.ready), String(r.starting), r.pids ? r.pids.join(',') || '-' : '-']));
}

export function register(program: Command, io: IO = processIO): void {
  for (const [verb, says] of [
    ['start', 'start instances of a version now (at least one, or its minInstances)'],
    ['stop', 'stop every instance of a version'],
  ] as const) {
    connectionOptions(program.command(verb).description(says).argument('<target>', 'function name, optionally @version or @alias (default: the latest version)').option('--json', 'print the raw JSON answer')).action(
      async (target: string, opts: { json?: boolean }, cmd: Command) => {
        const client = clientFor(cmd);
        const { name, version } = await resolveVersion(client, target);
        const r = await client.json<{ state: string }>('POST', seg`/v1/functions/${name}/versions/${version}/${verb}`);
        io.stdout.write(opts.json ? json(r) : `${name}@${version} ${r.state}\n`);
      },
    );
  }
  connectionOptions(program.command('instances').description("a function's running instances: state, calls in flight, calls served, memory in use").argument('<name>', 'function name').option('--json', 'print the raw JSON answer')).action(
    async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).json<{ instances: InstanceView[] }>('GET', seg`/v1/functions/${checkName('function', name)}/instances`);
      io.stdout.write(opts.json ? json(r) : instancesTable(r.instances));
    },
  );
  connectionOptions(program.command('pool').description('the pre-booted sandbox pool: on or off, and how full').option('--json', 'print the raw JSON answer')).action(async (opts: { json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<PoolView>('GET', '/v1/pool');
    io.stdout.write(opts.json ? json(r) : poolText(r));
  });
}
