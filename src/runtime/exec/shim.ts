/**
 * The exec runtime's shim: `node shim.js` inside the instance. It serves the frame protocol and,
 * CGI-style, runs the function's command once per call: request body on stdin, request facts in
 * the environment, stdout as the response body. Runs in sandboxes: imports only Node built-ins
 * and the shim/frames code.
 *
 * Environment: FERRY_SOCKET (where to listen), FERRY_COMMAND (JSON argv, argv[0] absolute),
 * FERRY_CONCURRENCY (commands running at once; more calls wait), plus the function's variables.
 * Each command gets FERRY_METHOD, FERRY_PATH, FERRY_QUERY, FERRY_REQUEST_ID and HTTP_<NAME> per
 * request header. Exit codes: 78 bad configuration, 71 the socket cannot be listened on, 70 an
 * uncaught error, 0 after SIGTERM.
 */
import { isUtf8 } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { serveFrames, type IncomingCall } from '../shim/frame-server.js';
import type { ContractCall } from './seed003-contract.js';

/** In-flight calls get this long to finish after SIGTERM. */
const DRAIN_MS = 5000;
const TEXT = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NL = Buffer.from('\n');

function fatal(code: number, what: string, err?: unknown): never {
  const detail = err instanceof Error ? `\n${err.stack ?? err.message}` : '';
  process.stderr.write(`ferry exec shim: ${what}${detail}\n`);
  process.exit(code);
}

const socketPath = process.env.FERRY_SOCKET;
if (!socketPath || !process.env.FERRY_COMMAND) fatal(78, 'FERRY_SOCKET and FERRY_COMMAND must be set');
let argv: string[] = [];
try {
  argv = JSON.parse(process.env.FERRY_COMMAND!) as string[];
} catch (err) {
  fatal(78, 'FERRY_COMMAND is not JSON', err);
}
if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string' && a.length > 0)) {
  fatal(78, 'FERRY_COMMAND must be a JSON array of non-empty strings');
}
const [program, ...args] = argv as [string, ...string[]];
const limit = Math.max(1, Number.parseInt(process.env.FERRY_CONCURRENCY ?? '', 10) || 16);

/**
 * The commands' base environment: the instance's, minus Ferry's plumbing and minus inherited
 * HTTP_* variables, so every HTTP_* a command sees came from a request header (CGI's contract).
 */
const baseEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) {
  if (v === undefined || k === 'FERRY_SOCKET' || k === 'FERRY_COMMAND' || k.startsWith('HTTP_')) continue;
  baseEnv[k] = v;
}

/** One call's environment: the base plus the request's method, path, query, id and headers. */
function callEnv(call: IncomingCall): Record<string, string> {
  const url = call.url;
  const q = url.indexOf('?');
  const env: Record<string, string> = {
    ...baseEnv,
    FERRY_METHOD: call.method,
    FERRY_PATH: q < 0 ? url : url.slice(0, q),
    FERRY_QUERY: q < 0 ? '' : url.slice(q + 1),
    FERRY_REQUEST_ID: call.requestId,
  };
  const h = call.headers;
  for (let i = 0; i < h.length - 1; i += 2) {
    const name = h[i]!;
    // httpoxy: a client's `Proxy:` header must never become HTTP_PROXY, which HTTP clients obey.
    if (name.length === 5 && name.toLowerCase() === 'proxy') continue;
    const key = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
    if (!envName.test(key)) continue;
    const value = h[i + 1]!;
    env[key] = env[key] === undefined ? value : `${env[key]}, ${value}`;
  }
  return env;
}

/** Writes a command's stderr to ours line by line, each line prefixed with the call's request id. */
class PrefixedLines {
  private rest: Buffer | null = null;
  private readonly prefix: Buffer;

  constructor(requestId: string) {
    this.prefix = Buffer.from(`\x1e${requestId}\x1f`);
  }

  push(chunk: Buffer): void {
    let start = 0;
    const parts: Buffer[] = [];
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      parts.push(this.prefix);
      if (this.rest) {
        parts.push(this.rest);
        this.rest = null;
      }
      parts.push(chunk.subarray(start, nl + 1));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const tail = chunk.subarray(start);
      this.rest = this.rest ? Buffer.concat([this.rest, tail]) : Buffer.from(tail);
    }
    if (parts.length) process.stderr.write(Buffer.concat(parts));
  }

  line(text: string): void {
    this.end();
    process.stderr.write(Buffer.concat([this.prefix, Buffer.from(text), NL]));
  }

  /** The last line may lack its newline: it still gets one, so it cannot glue onto another. */
  end(): void {
    if (!this.rest) return;
    process.stderr.write(Buffer.concat([this.prefix, this.rest, NL]));
    this.rest = null;
  }
}

const children = new Set<ChildProcess>();
const waiting: IncomingCall[] = [];
let running = 0;

function onCall(call: IncomingCall): void {
  if (running < limit) run(call);
  else waiting.push(call);
}

/** A slot is free: start the oldest waiting call that was not cancelled meanwhile. */
function release(): void {
  running--;
  while (running < limit && waiting.length) {
    const next = waiting.shift()!;
    if (!next.aborted) run(next);
  }
}

/** Another system's contract the commands follow (FERRY_CONTRACT), else the shim's own. */
const contract = process.env.FERRY_CONTRACT === 'seed003' ? new (await import('./seed003-contract.js')).Seed003Contract(process.env.FERRY_API_SOCKET ?? '') : undefined;

function run(call: IncomingCall): void {
  running++;
  let released = false;
  const free = (): void => {
    if (released) return;
    released = true;
    release();
  };
  const log = new PrefixedLines(call.requestId);
  if (!contract) return start(call, log, free, undefined);
  contract.prepare(call.requestId, call.bufferedBody(), () => call.bodyReadable()).then(
    (c) => (call.aborted ? (c.release(), free()) : start(call, log, free, c)),
    (err: Error) => {
      log.line(`exec: ${err.message}`);
      call.fail(err.message);
      free();
    },
  );
}

/** Starts the call's command: with a contract, its input is the last argument and stdin is empty. */
function start(call: IncomingCall, log: PrefixedLines, free: () => void, c: ContractCall | undefined): void {
  let child: ChildProcess;
  try {
    child = spawn(program, c ? [...args, ...c.args] : args, { cwd: process.cwd(), env: c ? { ...callEnv(call), ...c.env } : callEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    // e.g. a header value Node refuses in an environment variable
    c?.release();
    log.line(`exec: cannot start ${program}: ${(err as Error).message}`);
    call.fail(`cannot start the command: ${(err as Error).message}`);
    return free();
  }
  children.add(child);
  const out: Buffer[] = [];
  let failed = false;
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk));
  // A command that does not read its input closes the pipe under us: not an error of the call.
  child.stdin!.on('error', () => {});
  const body = call.bufferedBody();
  if (c) child.stdin!.end();
  else if (body) child.stdin!.end(body);
  else call.bodyReadable().on('error', () => child.stdin!.destroy()).pipe(child.stdin!);

  call.onAbort(() => {
    child.kill('SIGKILL');
    free();
  });
  child.once('error', (err: NodeJS.ErrnoException) => {
    // Spawning failed (ENOENT, EACCES): 'close' may still follow, the answer is given here.
    failed = true;
    log.line(`exec: cannot start ${program}: ${err.message}`);
    call.fail(`cannot start the command: ${err.code ?? err.message}`);
    children.delete(child);
    free();
  });
  child.once('close', (code, signal) => {
    children.delete(child);
    c?.release();
    log.end();
    free();
    if (failed || call.aborted) return;
    const stdout = out.length === 1 ? out[0]! : Buffer.concat(out);
    if (code === 0) {
      call.respond(200, ['content-type', isUtf8(stdout) ? TEXT : BINARY], stdout);
      return;
    }
    const why = code !== null ? `exit status ${code}` : `killed by signal ${signal}`;
    log.line(`exec: ${program} ${why}`);
    // A contract's command reports its failure on stdout too (seed-003: {"error": "..."}).
    if (c && stdout.length) call.respond(500, ['content-type', isUtf8(stdout) ? TEXT : BINARY], stdout);
    else call.respond(500, ['content-type', TEXT], `${why}\n`);
  });
}

process.on('uncaughtException', (err) => fatal(70, 'uncaught exception, the instance will be replaced', err));

const server = serveFrames(socketPath!, onCall);
server.on('error', (err) => fatal(71, `cannot listen on ${socketPath}`, err));

async function drainAndExit(): Promise<void> {
  await server.shutdown(DRAIN_MS);
  for (const child of children) child.kill('SIGKILL');
  process.exit(0);
}
process.once('SIGTERM', () => void drainAndExit());
process.once('SIGINT', () => void drainAndExit());
