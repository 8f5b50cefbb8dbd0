/** `ferry run -- CMD ARGS`: run a command in a fresh sandbox on the server (`POST /v1/run`). */
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { apiError, type Client } from '../client.js';
import { ApiError, CommandExit, usageError } from '../errors.js';
import { processIO, writeChunk, type IO } from '../output.js';
import { clientFor, connectionOptions } from './common.js';

/** Exit statuses for a run that did not exit by itself, as a shell gives them. */
const NOT_FOUND = 127;
const TIMED_OUT = 124;

/**
 * Sends the command with stdin (when it is not a terminal) as its payload, writes its output
 * as it comes, and ends with its exit status; a run that did not exit by itself prints why.
 */
export async function runCommand(client: Client, command: string[], opts: { timeoutMs?: number; image?: string; sandbox?: string }, io: IO = processIO, stdin: Readable & { isTTY?: boolean } = process.stdin): Promise<void> {
  if (command.length === 0) throw usageError('name the command after --: ferry run -- CMD ARGS');
  const chunks: Buffer[] = [];
  if (!stdin.isTTY) for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const body = JSON.stringify({ command, payload: Buffer.concat(chunks).toString('base64'), stream: true, ...(opts.timeoutMs !== undefined ? { timeout_ms: opts.timeoutMs } : {}), ...(opts.image !== undefined ? { image: opts.image } : {}), ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox } : {}) });
  const res = await client.request('POST', '/v1/run', { 'content-type': 'application/json' }, body);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const parts: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) parts.push(c);
    const e = apiError(status, res.statusMessage ?? '', res.headers['content-type'] ?? '', Buffer.concat(parts).toString('utf8'), client.token);
    throw new ApiError(status, `HTTP ${status}: ${e.message}`, e.code, e.problem);
  }
  let rest = '';
  let end: { exitCode: number | null; error: string | null } | undefined;
  let lastStderr = Buffer.alloc(0);
  for await (const c of res as AsyncIterable<Buffer>) {
    const lines = (rest + c.toString('utf8')).split('\n');
    rest = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const o = JSON.parse(line) as { stdout?: string; stderr?: string; exitCode?: number | null; error?: string | null };
      if (o.stdout !== undefined) await writeChunk(io.stdout, Buffer.from(o.stdout, 'base64'));
      else if (o.stderr !== undefined) await writeChunk(io.stderr, (lastStderr = Buffer.from(o.stderr, 'base64')));
      else end = { exitCode: o.exitCode ?? null, error: o.error ?? null };
    }
  }
  if (!end) throw new ApiError(status, 'the answer ended before the run did', undefined);
  if (end.exitCode !== null) {
    if (end.exitCode !== 0) throw new CommandExit(end.exitCode);
    return;
  }
  // The server's last stderr line may say it already (a command not found).
  if (lastStderr.toString('utf8') !== `${end.error}\n`) await writeChunk(io.stderr, `ferry: ${end.error}\n`);
  throw new CommandExit(end.error?.startsWith('command not found') ? NOT_FOUND : end.error?.startsWith('timed out') ? TIMED_OUT : 1);
}

export function register(program: Command, io: IO = processIO): void {
  connectionOptions(
    program
      .command('run')
      .description('run a command in a fresh sandbox on the server, stdin as its input (needs --allow-run there)')
      .argument('<command...>', 'the command and its arguments, after --')
      .option('--timeout <ms>', 'time limit in milliseconds (at most the server\'s --run-timeout)')
      .option('--image <ref>', "run on the root file system of an image a deployed version carries (its reference or sha256: digest)")
      .option('--sandbox <tier>', "the sandbox tier to run in (bwrap, gvisor, microvm: one the server enables); default: the image version's tier, else the server's default"),
  ).action(async (command: string[], opts: { timeout?: string; image?: string; sandbox?: string }, cmd: Command) => {
    const timeoutMs = opts.timeout === undefined ? undefined : Number(opts.timeout);
    if (timeoutMs !== undefined && !Number.isInteger(timeoutMs)) throw usageError(`--timeout '${opts.timeout}' is not a number of milliseconds`);
    await runCommand(clientFor(cmd), command, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(opts.image !== undefined ? { image: opts.image } : {}), ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox } : {}) }, io);
  });
}
