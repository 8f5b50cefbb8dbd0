/** `ferry functions list`. */
import type { Command } from 'commander';
import type { Client } from '../client.js';
import { formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface FunctionSummary {
  name: string;
  createdAt?: unknown;
  latest?: unknown;
  versions?: unknown;
  [extra: string]: unknown;
}

export async function listFunctions(client: Client): Promise<{ functions: FunctionSummary[] }> {
  const r = await client.json<{ functions?: FunctionSummary[] }>('GET', '/v1/functions');
  return { ...r, functions: r?.functions ?? [] };
}

export function functionsTable(list: FunctionSummary[]): string {
  if (list.length === 0) return 'No functions yet (ferry deploy <dir>).\n';
  return table(
    ['NAME', 'LATEST', 'VERSIONS', 'CREATED'],
    list.map((f) => [f.name, str(f.latest), Array.isArray(f.versions) ? String(f.versions.length) : str(f.versions), formatTime(f.createdAt)]),
  );
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('functions').description('list functions');
  connectionOptions(group.command('list', { isDefault: true }).alias('ls').description('list the functions').option('--json', 'print the raw JSON answer')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const r = await listFunctions(clientFor(cmd));
      io.stdout.write(opts.json ? json(r) : functionsTable(r.functions));
    },
  );
}
