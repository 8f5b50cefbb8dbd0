/** `ferry executions list|get|start|result|cancel|callback-key|dead-letters|redrive`, and the waiting behind `ferry invoke --async --wait`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { apiError, seg, type Client } from '../client.js';
import { readFile } from 'node:fs/promises';
import { collect, normalizePath, parseHeaders, parseTarget } from '../args.js';
import { CliError, usageError } from '../errors.js';
import { requireSuccess } from '../outcome.js';
import { formatTime, json, processIO, str, table, writeChunk, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

export interface ExecutionDoc {
  id: string;
  function?: string;
  version?: string;
  status: string;
  attempts?: number;
  createdAt?: string | null;
  finishedAt?: string | null;
  resultStatus?: number | null;
  result?: { status: number; size: number; body: string | null; bodyEncoding: string | null } | null;
  error?: { code: string; detail: string } | null;
  callback?: { url: string; state: string; attempts: number } | null;
  logs?: Array<{ time: string; stream: string; line: string }>;
  [extra: string]: unknown;
}

const statuses = ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'cancelled'];
const ended = (s: string): boolean => !['queued', 'running'].includes(s);

function checkId(id: string): string {
  if (!/^[0-9a-f]{32}$/.test(id)) throw usageError(`'${id}' is not an execution id (32 hex digits)`);
  return id;
}

export async function listExecutions(client: Client, q: { function?: string; status?: string; limit?: string; cursor?: string }): Promise<{ executions: ExecutionDoc[]; next: string | null }> {
  const params = new URLSearchParams();
  if (q.function !== undefined) params.set('function', checkName('function', q.function));
  if (q.status !== undefined) {
    if (!statuses.includes(q.status)) throw usageError(`--status must be one of ${statuses.join(', ')}`);
    params.set('status', q.status);
  }
  if (q.limit !== undefined) params.set('limit', q.limit);
  if (q.cursor !== undefined) params.set('cursor', q.cursor);
  const qs = params.toString();
  const r = await client.json<{ executions?: ExecutionDoc[]; next?: string | null }>('GET', `/v1/executions${qs ? `?${qs}` : ''}`);
  return { executions: r?.executions ?? [], next: r?.next ?? null };
}

export function executionsTable(list: ExecutionDoc[]): string {
  if (list.length === 0) return 'No executions.\n';
  return table(
    ['ID', 'FUNCTION', 'VERSION', 'STATUS', 'ATTEMPTS', 'RESULT', 'CREATED'],
    list.map((e) => [e.id, str(e.function), str(e.version), e.status, str(e.attempts), str(e.resultStatus), formatTime(e.createdAt)]),
  );
}

/** The execution; with `waitSeconds`, long-polls until it ends (or that time passed). */
export async function getExecution(client: Client, id: string, waitSeconds = 0): Promise<ExecutionDoc> {
  checkId(id);
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    const wait = Math.max(0, Math.min(60, left));
    const doc = await client.json<ExecutionDoc>('GET', seg`/v1/executions/${id}` + (wait > 0 ? `?wait=${wait}` : ''));
    if (ended(doc.status) || wait === 0) return doc;
  }
}

/** The whole result body (the JSON view inlines it only up to 64 KiB). */
export async function resultBody(client: Client, id: string): Promise<Uint8Array> {
  const res = await client.fetch('GET', seg`/v1/executions/${id}/result`);
  if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), await res.text(), client.token);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Waits for the execution to end and writes its result body to stdout. Throws (exit 1, the rule
 * of outcome.ts) unless it succeeded with a 2xx answer.
 */
export async function awaitResult(client: Client, id: string, io: IO): Promise<ExecutionDoc> {
  const doc = await getExecution(client, id, Number.MAX_SAFE_INTEGER / 1000);
  if (doc.result) await writeChunk(io.stdout, await resultBody(client, id));
  requireSuccess(doc);
  return doc;
}

/** `--wait [seconds]`: 0 when absent, for ever when given bare. */
function waitSeconds(wait: string | boolean | undefined): number {
  const s = wait === undefined ? 0 : wait === true ? Number.MAX_SAFE_INTEGER / 1000 : Number(wait);
  if (!(s >= 0)) throw usageError('--wait takes a number of seconds');
  return s;
}

export interface StartArgs {
  target: string;
  data?: string | undefined;
  file?: string | undefined;
  method?: string | undefined;
  path?: string | undefined;
  headers?: string[] | undefined;
}

/** `POST /v1/functions/{name}/executions`: stores the request; answers the execution's id. */
export async function startExecution(client: Client, args: StartArgs): Promise<string> {
  const { name, ref } = parseTarget(args.target);
  if (args.data !== undefined && args.file !== undefined) throw usageError('use either --data or --file, not both');
  let body: Uint8Array<ArrayBuffer> | string = args.data ?? '';
  if (args.file !== undefined) {
    body = new Uint8Array(await readFile(args.file).catch((err: unknown) => {
      throw new CliError(`cannot read ${args.file}: ${err instanceof Error ? err.message : String(err)}`);
    }));
  }
  const q = new URLSearchParams();
  if (ref !== undefined) q.set('ref', ref);
  if (args.method !== undefined) q.set('method', args.method.toUpperCase());
  if (args.path !== undefined) q.set('path', normalizePath(args.path));
  const path = seg`/v1/functions/${name}/executions` + (q.size ? `?${q}` : '');
  const headers = parseHeaders(args.headers ?? []);
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/octet-stream';
  const res = await client.fetch('POST', path, { headers: { ...headers, accept: 'application/json' }, body });
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), text, client.token);
  return (JSON.parse(text) as { id: string }).id;
}

/** A dead letter as the API lists it: the execution's summary and why it was set aside. */
interface DeadLetterDoc extends ExecutionDoc {
  deadLetter: { reason: string; deliveries: number; at: string };
}

function deadLettersTable(list: DeadLetterDoc[]): string {
  if (list.length === 0) return 'No dead letters.\n';
  return table(
    ['ID', 'FUNCTION', 'VERSION', 'STATUS', 'ATTEMPTS', 'REASON', 'SET ASIDE'],
    list.map((e) => [e.id, str(e.function), str(e.version), e.status, str(e.attempts), e.deadLetter.reason, formatTime(e.deadLetter.at)]),
  );
}

function describe(e: ExecutionDoc): string {
  const lines = [
    `id:        ${e.id}`,
    `function:  ${str(e.function)}@${str(e.version)}`,
    `status:    ${e.status}`,
    `attempts:  ${str(e.attempts)}`,
    `created:   ${formatTime(e.createdAt)}`,
    `finished:  ${formatTime(e.finishedAt)}`,
  ];
  if (e.result) lines.push(`result:    ${e.result.status}, ${e.result.size} bytes`);
  if (e.error) lines.push(`error:     ${e.error.code}: ${e.error.detail}`);
  if (e.callback) lines.push(`callback:  ${e.callback.url} (${e.callback.state}, ${e.callback.attempts} tries)`);
  let out = `${lines.join('\n')}\n`;
  if (e.result?.body !== null && e.result?.body !== undefined && e.result.bodyEncoding === 'utf8') out += `\n${e.result.body}${e.result.body.endsWith('\n') ? '' : '\n'}`;
  if (e.logs?.length) out += `\nlogs:\n${e.logs.map((l) => `  ${l.time} ${l.stream} ${l.line}`).join('\n')}\n`;
  return out;
}

export function register(program: Command, io: IO = processIO): void {
  const group = program.command('executions').description('asynchronous executions: list, show, start, result, cancel, dead letters, re-drive');
  connectionOptions(
    group
      .command('list', { isDefault: true })
      .alias('ls')
      .description('list executions, newest first')
      .option('--function <name>', 'only this function')
      .option('--status <status>', `only this status (${statuses.join(', ')})`)
      .option('--limit <n>', 'page size (default 50)')
      .option('--cursor <cursor>', 'the page after this cursor (printed after a full page)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { function?: string; status?: string; limit?: string; cursor?: string; json?: boolean }, cmd: Command) => {
    const r = await listExecutions(clientFor(cmd), opts);
    if (opts.json) return void io.stdout.write(json(r));
    io.stdout.write(executionsTable(r.executions));
    if (r.next) io.stderr.write(`more: --cursor ${r.next}\n`);
  });
  connectionOptions(
    group
      .command('get')
      .description('show an execution: status, result, attempts, callback and its log lines')
      .argument('<id>', 'execution id')
      .option('--wait [seconds]', 'wait until it ends (at most this long)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (id: string, opts: { wait?: string | boolean; json?: boolean }, cmd: Command) => {
    const doc = await getExecution(clientFor(cmd), id, waitSeconds(opts.wait));
    io.stdout.write(opts.json ? json(doc) : describe(doc));
    if (opts.wait !== undefined) requireSuccess(doc);
  });
  connectionOptions(
    group
      .command('start')
      .description('run a function asynchronously: prints the execution id (with --wait: its result)')
      .argument('<target>', 'function name, optionally @version or @alias')
      .option('-d, --data <text>', 'request body')
      .option('-f, --file <file>', 'request body from a file')
      .option('-X, --method <method>', 'HTTP method the function sees (default POST)')
      .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [] as string[])
      .option('--path <path>', 'path (and query) the function sees, e.g. /users?id=1')
      .option('--wait', 'wait for the execution to end and print its result (exit 1 unless it succeeded)'),
  ).action(async (target: string, opts: { data?: string; file?: string; method?: string; header: string[]; path?: string; wait?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const id = await startExecution(client, { target, data: opts.data, file: opts.file, method: opts.method, path: opts.path, headers: opts.header });
    if (opts.wait) await awaitResult(client, id, io);
    else io.stdout.write(`${id}\n`);
  });
  connectionOptions(group.command('result').description("write an execution's result body to stdout, whatever its size").argument('<id>', 'execution id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await writeChunk(io.stdout, await resultBody(clientFor(cmd), checkId(id)));
    },
  );
  connectionOptions(
    group.command('callback-key').description("the key a function's callbacks are signed with (HMAC-SHA256)").argument('<name>', 'function name').option('--json', 'print the raw JSON answer'),
  ).action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
    const r = await clientFor(cmd).json<{ key?: string }>('GET', seg`/v1/functions/${checkName('function', name)}/callback-key`);
    io.stdout.write(opts.json ? json(r) : `${str(r.key)}\n`);
  });
  connectionOptions(group.command('cancel').description('cancel a queued execution').argument('<id>', 'execution id')).action(async (id: string, _opts: unknown, cmd: Command) => {
    const doc = await clientFor(cmd).json<ExecutionDoc>('DELETE', seg`/v1/executions/${checkId(id)}`);
    io.stdout.write(`Cancelled ${doc.id}\n`);
  });
  connectionOptions(
    group
      .command('dead-letters')
      .description('list executions whose runs failed for good (retries spent), newest first')
      .option('--function <name>', 'only this function')
      .option('--limit <n>', 'page size (default 50)')
      .option('--cursor <cursor>', 'the page after this cursor (printed after a full page)')
      .option('--json', 'print the raw JSON answer'),
  ).action(async (opts: { function?: string; limit?: string; cursor?: string; json?: boolean }, cmd: Command) => {
    const params = new URLSearchParams();
    if (opts.function !== undefined) params.set('function', checkName('function', opts.function));
    if (opts.limit !== undefined) params.set('limit', opts.limit);
    if (opts.cursor !== undefined) params.set('cursor', opts.cursor);
    const qs = params.toString();
    const r = await clientFor(cmd).json<{ deadLetters?: DeadLetterDoc[]; next?: string | null }>('GET', `/v1/dead-letters${qs ? `?${qs}` : ''}`);
    if (opts.json) return void io.stdout.write(json(r));
    io.stdout.write(deadLettersTable(r?.deadLetters ?? []));
    if (r?.next) io.stderr.write(`more: --cursor ${r.next}\n`);
  });
  connectionOptions(group.command('redrive').alias('retry').description('run a dead-lettered (failed or timed-out) execution again, its retries afresh').argument('<id>', 'execution id')).action(async (id: string, _opts: unknown, cmd: Command) => {
    const doc = await clientFor(cmd).json<ExecutionDoc>('POST', seg`/v1/executions/${checkId(id)}/redrive`);
    io.stdout.write(`Re-driven ${doc.id}: ${doc.status}\n`);
  });
}
