/** `ferry versions list <name>`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { seg, type Client } from '../client.js';
import { formatBytes, formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface VersionSummary {
  version: string;
  createdAt?: unknown;
  packageSha?: string;
  packageSize?: number;
  [extra: string]: unknown;
}

export async function listVersions(client: Client, name: string): Promise<{ versions: VersionSummary[] }> {
  checkName('function', name);
  const r = await client.json<{ versions?: VersionSummary[] }>('GET', seg`/v1/functions/${name}/versions`);
  return { ...r, versions: r?.versions ?? [] };
}

export function versionsTable(list: VersionSummary[]): string {
  if (list.length === 0) return 'No versions.\n';
  return table(
    ['VERSION', 'CREATED', 'SIZE', 'SHA256'],
    list.map((v) => [
      v.version,
      formatTime(v.createdAt),
      typeof v.packageSize === 'number' ? formatBytes(v.packageSize) : '-',
      typeof v.packageSha === 'string' ? v.packageSha.slice(0, 12) : str(v.packageSha),
    ]),
  );
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('versions').description('list the versions of a function');
  connectionOptions(
    group.command('list', { isDefault: true }).alias('ls').description('list the versions of a function').argument('<name>', 'function name').option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
    const r = await listVersions(clientFor(cmd), name);
    io.stdout.write(opts.json ? json(r) : versionsTable(r.versions));
  });
}
