/**
 * `ferry deploy <dir>`: pack the folder, upload it as a new version, optionally move an alias.
 * `ferry deploy --image-archive FILE [dir]`: upload a container image archive instead, with the
 * folder's ferry.json (if any) as its manifest.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  /** The function folder; with `imageArchive`, optional (its ferry.json is the image's manifest). */
  dir?: string | undefined;
  /** A `docker save` or OCI layout tar to deploy as a container image version. */
  imageArchive?: string | undefined;
  /** A registry image to pull (`host[:port]/repo[:tag][@sha256:...]`); the folder's ferry.json, if any, goes with it. */
  image?: string | undefined;
  name?: string | undefined;
  version?: string | undefined;
  alias?: string | undefined;
  /** false: the server skips its deploy-time check (`--no-check`). */
  check?: boolean | undefined;
  /** The owning group of a new function (`singular:<user>` or `custom:<name>`). */
  group?: string | undefined;
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
  const manifest = readManifestObject(dir);
  const runtime = manifest.runtime;
  if (typeof runtime !== 'string' || !runtimes.includes(runtime)) {
    throw new CliError(`${join(dir, 'ferry.json')}: "runtime" must be one of ${runtimes.join(', ')}`, { code: 'invalid-manifest' });
  }
  return manifest;
}

/** `<dir>/ferry.json` as a JSON object. */
function readManifestObject(dir: string): Record<string, unknown> {
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
  return manifest as Record<string, unknown>;
}

/** What goes up: a file, its media type and any extra headers. */
interface Upload {
  file: string;
  size: number;
  contentType: string;
  headers?: Record<string, string>;
}

export async function deploy(client: Client, args: DeployArgs, io: IO = processIO): Promise<DeployResult> {
  if (args.version !== undefined) checkName('version', args.version);
  if (args.alias !== undefined) checkName('alias', args.alias);
  let response: Record<string, unknown>;
  let name: string;
  if (args.image !== undefined && args.imageArchive !== undefined) throw new CliError('--image and --image-archive: one image at a time');
  if (args.image !== undefined) {
    // The server pulls: what goes up is the version's ferry.json naming the image.
    name = deriveName(args.dir ?? args.image.replace(/[@:].*$/, '').split('/').pop()!, args.name);
    const given = args.dir === undefined ? {} : readManifestObject(args.dir);
    const image = typeof given.image === 'object' && given.image !== null ? given.image : {};
    const tmp = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
    try {
      const file = join(tmp, 'ferry.json');
      writeFileSync(file, JSON.stringify({ ...given, image: { ...image, ref: args.image } }));
      // The deployer's own registry login, from the environment only (never a command line).
      const login = process.env.FERRY_REGISTRY_AUTH;
      const headers = login ? { 'ferry-registry-auth': Buffer.from(login).toString('base64') } : undefined;
      response = await upload(client, name, args, { file, size: statSync(file).size, contentType: 'application/json', ...(headers && { headers }) }, io);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } else if (args.imageArchive !== undefined) {
    const archive = args.imageArchive;
    name = deriveName(args.dir ?? archive.replace(/\.tar$/, ''), args.name);
    let size: number;
    try {
      size = statSync(archive).size;
    } catch {
      throw new CliError(`cannot read the image archive ${archive}`);
    }
    // ASCII only in a header: anything else goes as a JSON \u escape.
    const manifest = args.dir === undefined ? undefined : JSON.stringify(readManifestObject(args.dir)).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    response = await upload(client, name, args, { file: archive, size, contentType: 'application/x-docker-archive', ...(manifest && { headers: { 'ferry-manifest': manifest } }) }, io);
  } else {
    // No folder named: the current one, when it is a function folder.
    const dir = args.dir ?? (existsSync('ferry.json') ? '.' : undefined);
    if (dir === undefined) throw new CliError('deploy needs a function folder (one holding a ferry.json; there is none here), or --image-archive FILE, or --image REF');
    readManifest(dir);
    name = deriveName(dir, args.name);
    const tmp = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
    try {
      const file = join(tmp, 'package.tar.gz');
      const { size, credentialFiles } = await pack(dir, file);
      for (const f of credentialFiles) {
        io.stderr.write(`warning: ${f} looks like credentials; it goes into the package, stored unencrypted on the server. Keep secrets in \`ferry secrets\` (sealed, handed to instances as environment variables), and leave the file out with a line in ${ignoreFile}\n`);
      }
      response = await upload(client, name, args, { file, size, contentType: 'application/gzip' }, io);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
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

/** Uploads a version with a progress bar, then the build log's lines as the server writes them. */
async function upload(client: Client, name: string, args: DeployArgs, up: Upload, io: IO): Promise<Record<string, unknown>> {
  const q = new URLSearchParams();
  if (args.check === false) q.set('check', 'false');
  if (args.group !== undefined) q.set('group', args.group);
  const path = (args.version === undefined ? seg`/v1/functions/${name}/versions` : seg`/v1/functions/${name}/versions/${args.version}`) + (q.size ? `?${q}` : '');
  const bar = progress(io.stderr, `uploading ${name}`);
  let uploaded = false;
  // The build's log lines, as the server writes them (the upload is complete by then).
  const showLog = (line: string): void => {
    if (!uploaded) bar.finish(up.size);
    uploaded = true;
    io.stderr.write(`  ${line}\n`);
  };
  const response = (await client.upload<Record<string, unknown>>(args.version === undefined ? 'POST' : 'PUT', path, up.file, up.size, up.contentType, (done, total) => bar.update(done, total), showLog, up.headers)) ?? {};
  if (!uploaded) bar.finish(up.size);
  return response;
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('deploy')
      .description('pack a function folder and upload it as a new version, or deploy a container image (an archive, or a registry image the server pulls)')
      .argument('[dir]', 'function folder holding ferry.json (default: the current folder, when it holds one; with --image-archive or --image: optional, its ferry.json is the manifest)')
      .option('--image-archive <file>', 'deploy a container image: a docker save or OCI image layout tar')
      .option('--image <ref>', 'deploy a registry image the server pulls: host[:port]/repo[:tag][@sha256:...] (a login: FERRY_REGISTRY_AUTH=user:password)')
      .option('--name <name>', 'function name (default: the folder name, lowercased)')
      .option('--version <version>', 'version name (default: the server picks v1, v2, ...)')
      .option('--alias <alias>', 'point this alias at the new version')
      .option('--no-check', 'skip the deploy-time check (loading the handler in a sandbox)')
      .option('--json', 'print the server answer as JSON'),
  ).action(async (dir: string | undefined, opts: DeployArgs & { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const r = await deploy(client, { dir, imageArchive: opts.imageArchive, image: opts.image, name: opts.name, version: opts.version, alias: opts.alias, check: opts.check }, io);
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
