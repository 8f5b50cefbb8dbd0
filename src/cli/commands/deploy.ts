/** `ferry deploy <dir>`: pack the folder, upload it as a new version, optionally move an alias. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { checkName, deriveName } from '../args.js';
import { seg, type Client } from '../client.js';
import { CliError } from '../errors.js';
import { json, processIO, progress, type IO } from '../output.js';
import { ignoreFile, pack } from '../pack.js';
import { clientFor, connectionOptions } from './common.js';

const runtimes = ['node', 'python', 'exec', 'http'];

export interface DeployArgs {
  dir: string;
  name?: string | undefined;
  version?: string | undefined;
  alias?: string | undefined;
  /** false: the server skips its deploy-time check (`--no-check`). */
  check?: boolean | undefined;
}

export interface DeployResult {
  name: string;
  version: string;
  url: string;
  alias: string | undefined;
  /** The server's answer to the upload. */
  response: Record<string, unknown>;
}

/** Reads and sanity-checks `<dir>/ferry.json`; the server validates it in full. */
export function readManifest(dir: string): Record<string, unknown> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new CliError(`${dir} is not a directory`);
  const file = join(dir, 'ferry.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`no ferry.json in ${dir}: a function folder needs one (see 'ferry init')`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new CliError(`${file} must hold a JSON object`);
  const runtime = (manifest as Record<string, unknown>).runtime;
  if (typeof runtime !== 'string' || !runtimes.includes(runtime)) {
    throw new CliError(`${file}: "runtime" must be one of ${runtimes.join(', ')}`, { code: 'invalid-manifest' });
  }
  return manifest as Record<string, unknown>;
}

export async function deploy(client: Client, args: DeployArgs, io: IO = processIO): Promise<DeployResult> {
  readManifest(args.dir);
  const name = deriveName(args.dir, args.name);
  if (args.version !== undefined) checkName('version', args.version);
  if (args.alias !== undefined) checkName('alias', args.alias);

  const tmp = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
  let response: Record<string, unknown>;
  try {
    const file = join(tmp, 'package.tar.gz');
    const { size, credentialFiles } = await pack(args.dir, file);
    for (const f of credentialFiles) {
      io.stderr.write(`warning: ${f} looks like credentials; it goes into the package, stored unencrypted on the server. Keep secrets in \`ferry secrets\` (sealed, handed to instances as environment variables), and leave the file out with a line in ${ignoreFile}\n`);
    }
    const path = (args.version === undefined ? seg`/v1/functions/${name}/versions` : seg`/v1/functions/${name}/versions/${args.version}`) + (args.check === false ? '?check=false' : '');
    const bar = progress(io.stderr, `uploading ${name}`);
    let uploaded = false;
    // The build's log lines, as the server writes them (the upload is complete by then).
    const showLog = (line: string): void => {
      if (!uploaded) bar.finish(size);
      uploaded = true;
      io.stderr.write(`  ${line}\n`);
    };
    response = (await client.upload<Record<string, unknown>>(args.version === undefined ? 'POST' : 'PUT', path, file, size, 'application/gzip', (done, total) => bar.update(done, total), showLog)) ?? {};
    if (!uploaded) bar.finish(size);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const version = typeof response.version === 'string' ? response.version : args.version;
  if (!version) throw new CliError('the server did not say which version it created');
  const rawUrl = typeof response.url === 'string' ? response.url : `/fn/${name}@${version}`;
  const url = /^https?:\/\//.test(rawUrl) ? rawUrl : client.url(rawUrl);
  if (args.alias !== undefined) {
    await client.json('PUT', seg`/v1/functions/${name}/aliases/${args.alias}`, { version });
  }
  return { name, version, url, alias: args.alias, response };
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('deploy')
      .description('pack a function folder and upload it as a new version')
      .argument('<dir>', 'function folder holding ferry.json')
      .option('--name <name>', 'function name (default: the folder name, lowercased)')
      .option('--version <version>', 'version name (default: the server picks v1, v2, ...)')
      .option('--alias <alias>', 'point this alias at the new version')
      .option('--no-check', 'skip the deploy-time check (loading the handler in a sandbox)')
      .option('--json', 'print the server answer as JSON'),
  ).action(async (dir: string, opts: DeployArgs & { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const r = await deploy(client, { dir, name: opts.name, version: opts.version, alias: opts.alias, check: opts.check }, io);
    if (opts.json) {
      io.stdout.write(json({ ...r.response, url: r.url, ...(r.alias ? { alias: r.alias } : {}) }));
      return;
    }
    io.stdout.write(`Deployed ${r.name} ${r.version}\n  url: ${r.url}\n`);
    const warnings = Array.isArray(r.response.warnings) ? r.response.warnings : [];
    for (const w of warnings) io.stderr.write(`warning: ${String(w)}\n`);
    if (r.alias) io.stdout.write(`  alias ${r.alias} -> ${r.version} (${client.url(`/fn/${r.name}@${r.alias}`)})\n`);
  });
}
