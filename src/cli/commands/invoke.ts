/** `ferry invoke <name[@ref]>`: call a function through the gateway and stream its answer. */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { collect, normalizePath, parseHeaders, parseTarget } from '../args.js';
import { apiError, type Client } from '../client.js';
import { ApiError, CliError, usageError } from '../errors.js';
import { processIO, writeChunk, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';
import { awaitResult } from './executions.js';

export interface InvokeArgs {
  target: string;
  data?: string | undefined;
  /** A file to send as the body; `-` reads stdin. */
  file?: string | undefined;
  method?: string | undefined;
  headers?: string[] | undefined;
  path?: string | undefined;
  /** Run asynchronously: print the execution id (or, with `wait`, wait and print the result). */
  async?: boolean | undefined;
  wait?: boolean | undefined;
}

/** The gateway path of an invocation: `/fn/<name>[@ref]<path>`. */
export function invokePath(target: string, path?: string): string {
  const { name, ref } = parseTarget(target);
  return `/fn/${name}${ref === undefined ? '' : `@${ref}`}${normalizePath(path)}`;
}

async function readBody(args: InvokeArgs, stdin: Readable): Promise<Uint8Array | string | undefined> {
  if (args.data !== undefined && args.file !== undefined) throw usageError('use either --data or --file, not both');
  if (args.data !== undefined) return args.data;
  if (args.file === undefined) return undefined;
  if (args.file !== '-') {
    try {
      return await readFile(args.file);
    } catch (err) {
      throw new CliError(`cannot read ${args.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Sends the request and streams the answer's body to stdout, whatever its status. Resolves with
 * the response status on 2xx; throws an ApiError (after the body is written) otherwise.
 */
export async function invoke(client: Client, args: InvokeArgs, io: IO = processIO, stdin: Readable = process.stdin): Promise<number> {
  const path = invokePath(args.target, args.path);
  const headers = parseHeaders(args.headers ?? []);
  if (args.wait && !args.async) throw usageError('--wait goes with --async');
  if (args.async) headers.prefer = 'respond-async';
  const body = await readBody(args, stdin);
  const method = (args.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw usageError(`-X '${args.method}' is not an HTTP method`);
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw usageError(`a ${method} request cannot have a body; pass -X POST (or PUT, ...)`);
  const res = await client.request(method, path, headers, body);
  const status = res.statusCode ?? 0;
  const ok = status >= 200 && status <= 299;
  const contentType = res.headers['content-type'] ?? '';
  if (args.async && status === 202) return accepted(client, res, args.wait === true, io);
  if (!ok && /problem\+json/i.test(contentType)) {
    // Small by nature: buffer it to quote its detail on stderr.
    const chunks: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    await writeChunk(io.stdout, text.endsWith('\n') || !text ? text : `${text}\n`);
    const e = apiError(status, res.statusMessage ?? '', contentType, text, client.token);
    throw new ApiError(status, `HTTP ${status}: ${e.message}`, e.code, e.problem);
  }
  for await (const chunk of res as AsyncIterable<Buffer>) await writeChunk(io.stdout, chunk);
  if (!ok) {
    const location = status >= 300 && status < 400 ? res.headers.location : undefined;
    throw new ApiError(status, `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${location ? ` (location: ${location})` : ''}`, undefined);
  }
  return status;
}

/** The 202 of an asynchronous call: prints the execution id, or waits and prints its result. */
async function accepted(client: Client, res: Readable, wait: boolean, io: IO): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
  if (!wait) {
    await writeChunk(io.stdout, `${id}\n`);
    return 202;
  }
  const doc = await awaitResult(client, id, io);
  return doc.result?.status ?? 200;
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('invoke')
      .description('call a function and stream its answer to stdout (exit 1 on a non-2xx status)')
      .argument('<target>', 'function name, optionally @version or @alias')
      .option('-d, --data <text>', 'request body (method defaults to POST)')
      .option('-f, --file <file>', "request body from a file ('-' for stdin)")
      .option('-X, --method <method>', 'HTTP method (default GET, or POST with a body)')
      .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [] as string[])
      .option('--path <path>', 'path (and query) after the function, e.g. /users?id=1')
      .option('--async', 'run asynchronously: print the execution id (Prefer: respond-async)')
      .option('--wait', 'with --async: wait for the execution to end and print its result'),
  ).action(async (target: string, opts: { data?: string; file?: string; method?: string; header: string[]; path?: string; async?: boolean; wait?: boolean }, cmd: Command) => {
    await invoke(clientFor(cmd), { target, data: opts.data, file: opts.file, method: opts.method, headers: opts.header, path: opts.path, async: opts.async, wait: opts.wait }, io);
  });
}
