/** `ferry versions list|get|build-log|rm`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { apiError, seg, type Client } from '../client.js';
import { formatBytes, formatTime, json, processIO, str, table, writeChunk, type IO } from '../output.js';
import { deleteFunction } from './delete.js';
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
  const group = program.command('versions').description('the versions of a function: list, show, build log, delete');
  connectionOptions(
    group.command('list', { isDefault: true }).alias('ls').description('list the versions of a function').argument('<name>', 'function name').option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
    const r = await listVersions(clientFor(cmd), name);
    io.stdout.write(opts.json ? json(r) : versionsTable(r.versions));
  });
  connectionOptions(
    group.command('get').description('show a version with its effective configuration').argument('<name>', 'function name').argument('<version>', 'version name').option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, version: string, opts: { json?: boolean }, cmd: Command) => {
    const v = await clientFor(cmd).json<VersionSummary & { config?: unknown; url?: unknown }>('GET', seg`/v1/functions/${checkName('function', name)}/versions/${checkName('version', version)}`);
    io.stdout.write(opts.json ? json(v) : `${versionsTable([v])}url: ${str(v.url)}\nconfig:\n${json(v.config)}`);
  });
  connectionOptions(group.command('build-log').description("print a version's build log").argument('<name>', 'function name').argument('<version>', 'version name')).action(
    async (name: string, version: string, _opts: unknown, cmd: Command) => {
      const client = clientFor(cmd);
      const res = await client.fetch('GET', seg`/v1/functions/${checkName('function', name)}/versions/${checkName('version', version)}/build-log`);
      const text = await res.text();
      if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), text, client.token);
      await writeChunk(io.stdout, text);
    },
  );
  connectionOptions(group.command('rm').alias('delete').description('delete a version (refused while an alias uses it)').argument('<name>', 'function name').argument('<version>', 'version name')).action(
    async (name: string, version: string, _opts: unknown, cmd: Command) => {
      await deleteFunction(clientFor(cmd), { name, version });
      io.stdout.write(`Deleted ${name} ${version}\n`);
    },
  );
}
