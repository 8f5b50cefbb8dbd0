/** `ferry executions list|get|cancel|dead-letters|redrive`, and the waiting behind `ferry invoke --async --wait`. */
import type { Command } from 'commander';
import { checkName } from '../args.js';
import { apiError, seg, type Client } from '../client.js';
import { ApiError, usageError } from '../errors.js';
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
 * Waits for the execution to end and writes its result body to stdout. Throws (exit 1) unless
 * it succeeded with a 2xx answer.
 */
export async function awaitResult(client: Client, id: string, io: IO): Promise<ExecutionDoc> {
  const doc = await getExecution(client, id, Number.MAX_SAFE_INTEGER / 1000);
  if (doc.result) await writeChunk(io.stdout, await resultBody(client, id));
  const status = doc.result?.status;
  if (doc.status !== 'succeeded' || status === undefined || status < 200 || status > 299) {
    const why = doc.error ? `: ${doc.error.detail}` : status !== undefined ? `: the function answered ${status}` : '';
    throw new ApiError(status ?? 0, `execution ${id} ${doc.status}${why}`, doc.error?.code);
  }
  return doc;
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
  const group = program.command('executions').description('asynchronous executions: list, show, cancel, dead letters, re-drive');
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
    const wait = opts.wait === undefined ? 0 : opts.wait === true ? Number.MAX_SAFE_INTEGER / 1000 : Number(opts.wait);
    if (!(wait >= 0)) throw usageError('--wait takes a number of seconds');
    const doc = await getExecution(clientFor(cmd), id, wait);
    io.stdout.write(opts.json ? json(doc) : describe(doc));
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
  connectionOptions(group.command('redrive').description('run a dead-lettered execution again, its retries afresh').argument('<id>', 'execution id')).action(async (id: string, _opts: unknown, cmd: Command) => {
    const doc = await clientFor(cmd).json<ExecutionDoc>('POST', seg`/v1/executions/${checkId(id)}/redrive`);
    io.stdout.write(`Re-driven ${doc.id}: ${doc.status}\n`);
  });
}
