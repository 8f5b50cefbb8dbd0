/**
 * `ferry up [-f FILE]`: makes the server match a project file. Each function gets a new version
 * only when its files or its configuration changed (the version carries digests of both as
 * labels), then its aliases are pointed where the file says. A second run changes nothing and
 * says so; `--dry-run` says what a run would change.
 */
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { formatWeights } from '../args.js';
import { seg, type Client } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { processIO, type IO } from '../output.js';
import { findProjectFile, readProject, type ProjectAlias, type ProjectFunction } from '../project.js';
import { canonicalJson, packedFiles, sourceDigest, sourceLabel, stage } from '../staging.js';
import { formatTarget, listAliases, setAlias } from './aliases.js';
import { clientFor, connectionOptions } from './common.js';
import { deploy, readManifest } from './deploy.js';

/** The label that holds the digest of the configuration `ferry up` uploaded. */
const configLabel = 'ferry.up.config';

/** Keys of ferry.json whose object values merge with the project's instead of being replaced. */
const merged = ['env', 'scaling', 'limits', 'labels', 'roBinds'];

interface VersionDoc {
  version: string;
  seq: number;
  manifest?: Record<string, unknown> & { labels?: Record<string, string> };
}

/** The folder's ferry.json with the project's configuration and secrets laid over it. */
export function projectManifest(fn: ProjectFunction): Record<string, unknown> {
  const own = existsSync(`${fn.dir}/ferry.json`) ? readManifest(fn.dir) : {};
  const out: Record<string, unknown> = { ...own };
  for (const [k, v] of Object.entries(fn.config)) {
    const base = out[k];
    out[k] = merged.includes(k) && base && typeof base === 'object' && v && typeof v === 'object' ? { ...base, ...v } : v;
  }
  const secrets = [...new Set([...((own.secrets as string[] | undefined) ?? []), ...fn.secrets])];
  if (secrets.length) out.secrets = secrets;
  return out;
}

/** The manifest's top-level keys whose values differ (what a new version changes). */
function changedKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete('labels');
  return [...keys].filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k])).sort();
}

async function versionsOf(client: Client, name: string): Promise<VersionDoc[]> {
  try {
    return (await client.json<{ versions: VersionDoc[] }>('GET', seg`/v1/functions/${name}/versions`)).versions;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'function-not-found') return [];
    throw err;
  }
}

/** An alias target of the project file with `latest` read as `version`, as the API stores it. */
function wantedTarget(target: ProjectAlias, version: string): { version: string } | { weights: Record<string, number> } {
  if (typeof target === 'string') return { version: target === 'latest' ? version : target };
  return { weights: Object.fromEntries(Object.entries(target.weights).map(([v, w]) => [v === 'latest' ? version : v, w])) };
}

/** The secrets the functions reference that the caller's groups do not have. */
async function missingSecrets(client: Client, fns: ProjectFunction[]): Promise<string[]> {
  const wanted = fns.flatMap((f) => f.secrets.map((s) => `${f.name}: ${s}`));
  if (wanted.length === 0) return [];
  const have = new Set((await client.json<{ secrets: Array<{ name: string }> }>('GET', '/v1/secrets')).secrets.map((s) => s.name));
  return wanted.filter((w) => !have.has(w.slice(w.indexOf(': ') + 2)));
}

/** Brings one function in line; answers the lines saying what changed (none: it already was). */
async function upFunction(client: Client, fn: ProjectFunction, dryRun: boolean, io: IO): Promise<string[]> {
  const changes: string[] = [];
  const manifest = projectManifest(fn);
  const files = await packedFiles(fn.dir);
  const filesDigest = sourceDigest(fn.dir, files, {});
  const configDigest = sourceDigest(fn.dir, [], manifest);
  const versions = await versionsOf(client, fn.name);
  const latest = versions.reduce<VersionDoc | undefined>((b, v) => (!b || v.seq > b.seq ? v : b), undefined);
  const labels = latest?.manifest?.labels ?? {};
  let version = latest?.version ?? '(new version)';
  const codeChanged = labels[sourceLabel] !== filesDigest;
  const configChanged = labels[configLabel] !== configDigest;
  if (!latest || codeChanged || configChanged) {
    const why = !latest
      ? 'new function'
      : [codeChanged ? 'code changed' : '', configChanged ? `configuration changed: ${changedKeys(latest.manifest ?? {}, manifest).join(', ') || 'labels'}` : ''].filter(Boolean).join('; ');
    if (dryRun) {
      changes.push(`${fn.name}: would deploy a new version (${why})`);
    } else {
      const dir = stage(fn.dir, files, { ...manifest, labels: { ...(manifest.labels as Record<string, string> | undefined), [sourceLabel]: filesDigest, [configLabel]: configDigest } });
      try {
        version = (await deploy(client, { dir, name: fn.name, group: fn.group }, io)).version;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      changes.push(`${fn.name}: deployed ${version} (${why})`);
    }
  }
  const current = latest ? new Map((await listAliases(client, fn.name)).aliases.map((a) => [a.alias, a.target])) : new Map<string, unknown>();
  for (const [alias, target] of Object.entries(fn.aliases)) {
    const want = wantedTarget(target, version);
    const have = current.get(alias);
    if (have !== undefined && canonicalJson(have) === canonicalJson(want)) continue;
    const shown = 'version' in want ? want.version : formatWeights(want.weights);
    if (!dryRun) await setAlias(client, fn.name, alias, want);
    changes.push(`${fn.name}@${alias}: ${have === undefined ? 'new' : formatTarget(have)} -> ${shown}${dryRun ? ' (would change)' : ''}`);
  }
  return changes;
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('up')
      .description('deploy a project file: several functions with their configuration, secrets and aliases; only what changed')
      .option('-f, --file <file>', 'the project file (default: ferry.project.json, else stack.yml / stack.json, here)')
      .option('--dry-run', 'say what would change, change nothing'),
  ).action(async (opts: { file?: string; dryRun?: boolean }, cmd: Command) => {
    const file = findProjectFile(opts.file, process.cwd());
    const fns = await readProject(file);
    if (fns.length === 0) throw new CliError(`${file} lists no functions`);
    const client = clientFor(cmd);
    const missing = await missingSecrets(client, fns);
    if (missing.length) throw new CliError(`secrets referenced but not set: ${missing.join(', ')} (ferry secrets set NAME < value)`, { code: 'secret-not-found' });
    let count = 0;
    for (const fn of fns) {
      const lines = await upFunction(client, fn, opts.dryRun === true, io);
      count += lines.length;
      io.stdout.write(lines.length ? lines.map((l) => `${l}\n`).join('') : `${fn.name}: unchanged\n`);
    }
    io.stdout.write(count === 0 ? 'Nothing changed.\n' : `${count} change${count === 1 ? '' : 's'}${opts.dryRun ? ' would be made' : ''}.\n`);
  });
}
