/** `ferry aliases set|list|rm`. */
import type { Command } from 'commander';
import { checkName, formatWeights, parseWeights } from '../args.js';
import { seg, type Client } from '../client.js';
import { usageError } from '../errors.js';
import { formatTime, json, processIO, str, table, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface AliasSummary {
  alias: string;
  target?: unknown;
  updatedAt?: unknown;
  [extra: string]: unknown;
}

export type AliasBody = { version: string } | { weights: Record<string, number> };

/** The PUT body from `[version]` or `--weights v1=90,v2=10` (exactly one of them). */
export function aliasBody(version: string | undefined, weights: string | undefined): AliasBody {
  if (version !== undefined && weights !== undefined) throw usageError('give either a version or --weights, not both');
  if (weights !== undefined) return { weights: parseWeights(weights) };
  if (version === undefined) throw usageError('give the version the alias points at, or --weights v1=90,v2=10');
  return { version: checkName('version', version) };
}

export async function setAlias(client: Client, name: string, alias: string, body: AliasBody): Promise<Record<string, unknown>> {
  checkName('function', name);
  checkName('alias', alias);
  return (await client.json<Record<string, unknown>>('PUT', seg`/v1/functions/${name}/aliases/${alias}`, body)) ?? {};
}

export async function listAliases(client: Client, name: string): Promise<{ aliases: AliasSummary[] }> {
  checkName('function', name);
  const r = await client.json<{ aliases?: AliasSummary[] }>('GET', seg`/v1/functions/${name}/aliases`);
  return { ...r, aliases: r?.aliases ?? [] };
}

/** A target as text: `v3`, `{version: v3}` -> `v3`, `{weights}` -> `v1=90,v2=10`. */
export function formatTarget(target: unknown): string {
  if (target && typeof target === 'object' && !Array.isArray(target)) {
    const t = target as Record<string, unknown>;
    if (typeof t.version === 'string') return t.version;
    if (t.weights && typeof t.weights === 'object') return formatWeights(t.weights as Record<string, unknown>);
  }
  return str(target);
}

export function aliasesTable(list: AliasSummary[]): string {
  if (list.length === 0) return 'No aliases.\n';
  return table(['ALIAS', 'TARGET', 'UPDATED'], list.map((a) => [a.alias, formatTarget(a.target), formatTime(a.updatedAt)]));
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('aliases').description('manage the aliases of a function (e.g. prod -> v3)');
  connectionOptions(
    group
      .command('set')
      .description('point an alias at a version, or split traffic by weight')
      .argument('<name>', 'function name')
      .argument('<alias>', 'alias name')
      .argument('[version]', 'version the alias points at')
      .option('--weights <weights>', 'traffic split, e.g. v1=90,v2=10')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, alias: string, version: string | undefined, opts: { weights?: string; json?: boolean }, cmd: Command) => {
    const body = aliasBody(version, opts.weights);
    const r = await setAlias(clientFor(cmd), name, alias, body);
    if (opts.json) io.stdout.write(json(r));
    else io.stdout.write(`${name}@${alias} -> ${formatTarget(r.target ?? body)}\n`);
  });
  connectionOptions(
    group.command('list').alias('ls').description('list the aliases of a function').argument('<name>', 'function name').option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
    const r = await listAliases(clientFor(cmd), name);
    io.stdout.write(opts.json ? json(r) : aliasesTable(r.aliases));
  });
  connectionOptions(group.command('rm').alias('delete').description('delete an alias (its versions stay)').argument('<name>', 'function name').argument('<alias>', 'alias name')).action(
    async (name: string, alias: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).json('DELETE', seg`/v1/functions/${checkName('function', name)}/aliases/${checkName('alias', alias)}`);
      io.stdout.write(`deleted alias ${name}@${alias}\n`);
    },
  );
}
