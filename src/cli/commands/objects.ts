/** `ferry objects put|get|ls|rm`: a function's objects. */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { apiError, seg, type Client } from '../client.js';
import { CliError, usageError } from '../errors.js';
import { formatBytes, formatTime, json, processIO, table, writeChunk, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface ObjectSummary {
  key: string;
  size: number;
  contentType: string;
  etag?: string;
  updatedAt?: string;
  [extra: string]: unknown;
}

/** The API path of an object: the key percent-encoded as one segment (`/` as %2F). */
export function objectPath(name: string, key: string): string {
  checkName('function', name);
  if (!key || key.split('/').some((s) => s === '' || s === '.' || s === '..')) throw usageError(`'${key}' is not an object key: segments separated by /, none empty, . or ..`);
  return `${seg`/v1/functions/${name}/objects`}/${encodeURIComponent(key)}`;
}

/** Every object under the prefix, following the cursor from page to page. */
export async function listObjects(client: Client, name: string, prefix = ''): Promise<ObjectSummary[]> {
  checkName('function', name);
  const all: ObjectSummary[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ prefix, limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const page: { objects?: ObjectSummary[]; cursor?: string | null } = (await client.json('GET', `${seg`/v1/functions/${name}/objects`}?${q}`)) ?? {};
    all.push(...(page.objects ?? []));
    cursor = page.cursor ?? null;
  } while (cursor);
  return all;
}

/** Uploads a file (streamed, with its size) or stdin (`-`, read whole first). */
export async function putObject(client: Client, name: string, key: string, file: string, contentType: string | undefined, stdin: Readable = process.stdin): Promise<ObjectSummary> {
  const path = objectPath(name, key);
  const type = contentType ?? 'application/octet-stream';
  if (file !== '-') {
    const size = await stat(file).then((s) => s.size, (err: unknown) => {
      throw new CliError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    });
    return client.upload<ObjectSummary>('PUT', path, file, size, type);
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const res = await client.fetch('PUT', path, { headers: { 'content-type': type, accept: 'application/json' }, body: Buffer.concat(chunks) });
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), text, client.token);
  return JSON.parse(text) as ObjectSummary;
}

/** Streams the object's content to `out`. */
export async function getObject(client: Client, name: string, key: string, out: Writable): Promise<void> {
  const res = await client.fetch('GET', objectPath(name, key));
  if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), await res.text(), client.token);
  if (!res.body) return;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) await writeChunk(out, chunk);
}

export async function removeObject(client: Client, name: string, key: string): Promise<void> {
  await client.json('DELETE', objectPath(name, key));
}

export function objectsTable(list: ObjectSummary[]): string {
  if (list.length === 0) return 'No objects.\n';
  return table(['KEY', 'SIZE', 'TYPE', 'UPDATED'], list.map((o) => [o.key, formatBytes(o.size), o.contentType, formatTime(o.updatedAt)]));
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('objects').description("manage a function's objects");
  connectionOptions(
    group
      .command('put')
      .description('store a file (or stdin with -) as an object')
      .argument('<name>', 'function name')
      .argument('<key>', 'object key, e.g. reports/2026/11.csv')
      .argument('<file>', 'the file to upload, - for stdin')
      .option('--content-type <type>', 'the media type to store (default application/octet-stream)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, key: string, file: string, opts: { contentType?: string; json?: boolean }, cmd: Command) => {
    const o = await putObject(clientFor(cmd), name, key, file, opts.contentType);
    io.stdout.write(opts.json ? json(o) : `${name}: ${o.key} (${formatBytes(o.size)}, ${o.contentType})\n`);
  });
  connectionOptions(
    group
      .command('get')
      .description("write an object's content to stdout, or to a file with -o")
      .argument('<name>', 'function name')
      .argument('<key>', 'object key')
      .option('-o, --output <file>', 'write to this file instead of stdout'),
  ).action(async (name: string, key: string, opts: { output?: string }, cmd: Command) => {
    const client = clientFor(cmd);
    if (!opts.output) return getObject(client, name, key, io.stdout);
    const res = await client.fetch('GET', objectPath(name, key));
    if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), await res.text(), client.token);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(opts.output));
  });
  connectionOptions(
    group
      .command('ls')
      .alias('list')
      .description("list a function's objects, optionally under a prefix")
      .argument('<name>', 'function name')
      .argument('[prefix]', 'only keys starting with this')
      .option('--json', 'print the objects as JSON'),
  ).action(async (name: string, prefix: string | undefined, opts: { json?: boolean }, cmd: Command) => {
    const list = await listObjects(clientFor(cmd), name, prefix ?? '');
    io.stdout.write(opts.json ? json({ objects: list }) : objectsTable(list));
  });
  connectionOptions(
    group.command('rm').description('delete an object').argument('<name>', 'function name').argument('<key>', 'object key'),
  ).action(async (name: string, key: string, _opts: unknown, cmd: Command) => {
    await removeObject(clientFor(cmd), name, key);
    io.stdout.write(`${name}: deleted ${key}\n`);
  });
}
