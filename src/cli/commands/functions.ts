/** `ferry functions list|get|owner`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg, type Client } from '../client.js';
import { formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface FunctionSummary {
  name: string;
  owner?: unknown;
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
    ['NAME', 'OWNER', 'LATEST', 'VERSIONS', 'ALIASES', 'CREATED'],
    list.map((f) => [
      f.name,
      str(f.owner),
      str(f.latest),
      Array.isArray(f.versions) ? String(f.versions.length) : str(f.versions),
      Array.isArray(f.aliases) && f.aliases.length ? f.aliases.join(',') : '-',
      formatTime(f.createdAt),
    ]),
  );
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('functions').description('list functions, show one, change its owner');
  connectionOptions(group.command('list', { isDefault: true }).alias('ls').description('list the functions').option('--json', 'print the raw JSON answer')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const r = await listFunctions(clientFor(cmd));
      io.stdout.write(opts.json ? json(r) : functionsTable(r.functions));
    },
  );
  connectionOptions(group.command('get').description('show a function: owner, latest version, aliases, URL').argument('<name>', 'function name').option('--json', 'print the raw JSON answer')).action(
    async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const f = await clientFor(cmd).json<FunctionSummary>('GET', seg`/v1/functions/${checkName('function', name)}`);
      io.stdout.write(opts.json ? json(f) : functionsTable([f]));
    },
  );
  connectionOptions(
    group
      .command('owner')
      .description('move a function to another owning group (one you are in)')
      .argument('<name>', 'function name')
      .argument('<owner>', 'singular:<user> or custom:<group>')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, owner: string, opts: { json?: boolean }, cmd: Command) => {
    const f = await clientFor(cmd).json<FunctionSummary>('PATCH', seg`/v1/functions/${checkName('function', name)}`, { owner });
    io.stdout.write(opts.json ? json(f) : `${f.name} is owned by ${str(f.owner)}\n`);
  });
}
