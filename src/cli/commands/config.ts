/**
 * `ferry config get|set|unset <name[@ref]>`: a version's configuration (env, scaling, limits, sandbox
 * settings, ...) changed in place, through `PATCH .../versions/{version}`. Running instances are
 * replaced with no failed call.
 */
import type { Command } from 'commander';
import { seg, type Client } from '../client.js';
import { CliError, usageError } from '../errors.js';
import { json, processIO, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';
import { resolveVersion } from './target.js';

/** Keys whose value is a map the server replaces whole: `env.K=V` adds to what is there. */
const maps = ['env', 'roBinds'];
/** Keys the server merges key by key: one of their keys can leave the override alone. */
const sections = ['scaling', 'limits'];
/** Keys that take a comma-separated list. */
const lists = ['secrets'];

/** A value as typed: JSON when it parses (numbers, booleans, objects), else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `scaling.minInstances=1 env.GREETING=hi secrets=A,B network=egress` into the PATCH body.
 * `current` is the version's override, so a map key adds to its map instead of replacing it.
 */
export function configPatch(pairs: string[], current: Record<string, unknown> = {}): Record<string, unknown> {
  if (pairs.length === 0) throw usageError('give at least one key=value, e.g. scaling.minInstances=1 or env.GREETING=hi');
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`'${pair}' is not key=value (e.g. limits.memoryMb=256)`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const path = key.split('.');
    if (path.some((p) => p === '') || path.length > 2) throw usageError(`'${key}' is not a key: one name, or section.name (e.g. scaling.maxInstances)`);
    const [top, sub] = path as [string, string | undefined];
    if (sub === undefined) {
      patch[top] = lists.includes(top) ? raw.split(',').map((s) => s.trim()).filter(Boolean) : parseValue(raw);
      continue;
    }
    const base = maps.includes(top) ? { ...(current[top] as Record<string, unknown> | undefined) } : {};
    const section = (patch[top] ??= base) as Record<string, unknown>;
    if (typeof section !== 'object' || section === null || Array.isArray(section)) throw usageError(`'${top}' is set whole and by section in the same command`);
    section[sub] = maps.includes(top) ? raw : parseValue(raw);
  }
  return patch;
}

/**
 * `env.GREETING scaling.minInstances retries` into the PATCH body that takes them out of the
 * version's override: `null` for a key (the package's ferry.json, or the default, applies again);
 * a map (`env`, `roBinds`) is sent whole without the name, as the API replaces maps whole.
 */
export function configRemoval(keys: string[], current: Record<string, unknown> = {}): Record<string, unknown> {
  if (keys.length === 0) throw usageError('give at least one key, e.g. env.GREETING or scaling.minInstances');
  const patch: Record<string, unknown> = {};
  for (const key of keys) {
    if (key.includes('=')) throw usageError(`'${key}': unset takes keys, not key=value`);
    const path = key.split('.');
    if (path.some((p) => p === '') || path.length > 2) throw usageError(`'${key}' is not a key: one name, or section.name (e.g. scaling.maxInstances)`);
    const [top, sub] = path as [string, string | undefined];
    if (sub === undefined) {
      patch[top] = null;
      continue;
    }
    if (!maps.includes(top) && !sections.includes(top)) throw usageError(`'${top}' is unset whole (ferry config unset NAME ${top}), not key by key`);
    if (!maps.includes(top)) {
      const section = (patch[top] ??= {}) as Record<string, unknown> | null;
      if (section === null) throw usageError(`'${top}' is unset whole and by section in the same command`);
      section[sub] = null;
      continue;
    }
    const had = (patch[top] ?? current[top]) as Record<string, unknown> | null | undefined;
    if (!had || !Object.hasOwn(had, sub)) throw new CliError(`${key} is not among the changes made to this version (${top} of the package's ferry.json stays; deploy a version without it)`);
    const rest = Object.fromEntries(Object.entries(had).filter(([k]) => k !== sub));
    patch[top] = Object.keys(rest).length ? rest : null;
  }
  return patch;
}

async function versionDoc(client: Client, target: string): Promise<{ name: string; version: string; doc: { override?: Record<string, unknown>; config?: unknown } }> {
  const { name, version } = await resolveVersion(client, target);
  return { name, version, doc: await client.json('GET', seg`/v1/functions/${name}/versions/${version}`) };
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('config').description("a version's configuration: show it, change it in place");
  connectionOptions(
    group.command('get').description('print the effective configuration of a version').argument('<target>', 'function name, optionally @version or @alias (default: the latest version)').option('--override', 'only what was changed after the upload'),
  ).action(async (target: string, opts: { override?: boolean }, cmd: Command) => {
    const { doc } = await versionDoc(clientFor(cmd), target);
    io.stdout.write(json(opts.override ? (doc.override ?? {}) : doc.config));
  });
  /** `set` and `unset`: a PATCH body built from the words and the version's override, sent, and said. */
  const change = (verb: 'set' | 'unset', says: string, words: [string, string], body: (words: string[], override: Record<string, unknown>) => Record<string, unknown>): void => {
    connectionOptions(
      group
        .command(verb)
        .description(says)
        .argument('<target>', 'function name, optionally @version or @alias (default: the latest version)')
        .argument(...words)
        .option('--json', 'print the version as the server answers it'),
    ).action(async (target: string, given: string[], opts: { json?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const { name, version, doc } = await versionDoc(client, target);
      const patch = body(given, doc.override ?? {});
      const v = await client.json<{ config?: unknown }>('PATCH', seg`/v1/functions/${name}/versions/${version}`, patch);
      io.stdout.write(opts.json ? json(v) : `${name}@${version}: ${verb} ${(verb === 'set' ? Object.keys(patch) : given).join(', ')}\n`);
    });
  };
  change('set', 'change configuration keys: env.NAME=value, scaling.*, limits.*, sandbox settings (network, seccomp, mountTmp, ...)', ['<key=value...>', 'e.g. scaling.minInstances=1 limits.memoryMb=256 env.GREETING=hi secrets=DB_URL network=egress'], configPatch);
  change('unset', "take configuration keys out of a version's changes: the package's ferry.json (or the default) applies again", ['<key...>', 'e.g. env.GREETING scaling.minInstances limits.memoryMb retries network'], configRemoval);
}
