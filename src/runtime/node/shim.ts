/**
 * The node runtime's shim: `node shim.js` inside the instance. It loads the function's module,
 * then serves calls from the gateway over the frame socket, one web `Request` in and the handler's
 * return value out. Imports only Node built-ins and the shim/frames code: it runs in sandboxes.
 *
 * Environment: FERRY_SOCKET (where to listen), FERRY_HANDLER (absolute module path, optionally
 * `path:exportName`), FERRY_FUNCTION, FERRY_VERSION, plus the function's own variables.
 * Pooled (FERRY_POOLED=1, no FERRY_HANDLER): listens at once with no function, and the LOAD
 * frame brings the handler, the environment and the working directory (see frames/codec.ts).
 * Check (FERRY_CHECK=1, at version creation): loads the handler, prints one report line (see
 * shim/check-report.ts) and exits 0, serving nothing; no socket.
 * Exit codes: 78 the handler cannot be loaded (the version is broken), 70 an uncaught error
 * (the host replaces the instance), 71 the socket cannot be listened on, 0 after SIGTERM.
 */
import { serveFrames, type IncomingCall } from '../shim/frame-server.js';
import { currentCall, installConsole, logError } from './instance/console.js';
import { HandlerLoadError, loadHandler, parseHandlerSpec, type Invoke } from './instance/handler.js';
import { toRequest } from './instance/request.js';
import { Response } from './instance/response.js';
import { failCall, sendResult } from './instance/respond.js';
import { warmUp } from './instance/warm-up.js';
import { instanceClient, type InstanceClient } from './instance/objects-client.js';
import { CallContext, type InstanceFacts } from './instance/context.js';
import { describeLoadFailure } from './instance/load-failure.js';
import { writeCheckReport } from '../shim/check-report.js';

/** In-flight calls and waitUntil() work get this long to finish after SIGTERM. */
const DRAIN_MS = 5000;

/** The per-call `context` argument of a handler (its fields are documented in docs/functions.md). */
export type HandlerContext = CallContext;

function report(what: string, err?: unknown): void {
  const detail = err instanceof Error ? `\n${err.stack ?? err.message}` : err === undefined ? '' : `\n${String(err)}`;
  process.stderr.write(`ferry node shim: ${what}${detail}\n`);
}

function fatal(code: number, what: string, err?: unknown): never {
  report(what, err);
  process.exit(code);
}

const socketPath = process.env.FERRY_SOCKET;
const handlerSpec = process.env.FERRY_HANDLER;
const checking = process.env.FERRY_CHECK === '1' && !!handlerSpec;
const pooled = process.env.FERRY_POOLED === '1' && !handlerSpec;
if ((!socketPath && !checking) || (!handlerSpec && !pooled)) fatal(78, 'FERRY_SOCKET and FERRY_HANDLER must be set');

// Read from the environment once the function is known: at start, or at LOAD when pooled.
let facts: InstanceFacts = { function: '', version: '', env: {}, waitUntil, client: instanceClient({}) };
function readFunctionEnv(): void {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'FERRY_SOCKET' && k !== 'FERRY_HANDLER') env[k] = v;
  }
  const client: InstanceClient = instanceClient(process.env);
  facts = { function: process.env.FERRY_FUNCTION ?? '', version: process.env.FERRY_VERSION ?? '', env: Object.freeze(env), waitUntil, client };
}

const background = new Set<Promise<unknown>>();

/** Shared by every context: it needs no `this`, so `const { waitUntil } = ctx` works too. */
function waitUntil(promise: Promise<unknown>): void {
  const requestId = currentCall.getStore();
  const p = Promise.resolve(promise).then(
    () => {},
    (err: unknown) => logError(requestId, `waitUntil() promise rejected: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  );
  background.add(p);
  void p.finally(() => background.delete(p));
}

process.on('uncaughtException', (err) => fatal(70, 'uncaught exception, the instance will be replaced', err));
process.on('unhandledRejection', (err) => fatal(70, 'unhandled promise rejection, the instance will be replaced', err));

// Before the module loads: code that keeps `const log = console.log` must get the prefixing one.
installConsole();
// And the Response class whose string and bytes bodies cost no stream (see instance/response.ts).
globalThis.Response = Response as unknown as typeof globalThis.Response;

let invoke: Invoke | undefined;
if (checking) {
  readFunctionEnv();
  try {
    await loadHandler(handlerSpec!);
    writeCheckReport({ ok: true });
  } catch (err) {
    writeCheckReport({ ok: false, ...describeLoadFailure(err, parseHandlerSpec(handlerSpec!).file, process.cwd()) });
  }
  process.exit(0);
}
if (!pooled) {
  readFunctionEnv();
  try {
    invoke = await loadHandler(handlerSpec!);
  } catch (err) {
    if (err instanceof HandlerLoadError) fatal(78, err.message, err.cause ?? err);
    fatal(78, 'cannot load the handler', err);
  }
}

/** LOAD of a pooled shim: the function's environment and directory first, then its module. */
async function onLoad(spec: unknown): Promise<void> {
  if (invoke) throw new Error('a function is already loaded');
  const { handler, env, cwd } = (spec ?? {}) as { handler?: unknown; env?: unknown; cwd?: unknown };
  if (typeof handler !== 'string' || typeof cwd !== 'string' || typeof env !== 'object' || env === null) throw new Error('LOAD needs handler, env and cwd');
  delete process.env.FERRY_POOLED;
  for (const [k, v] of Object.entries(env)) process.env[k] = String(v);
  // The package was mounted over this directory after the process entered it: only entering
  // it again by path reaches the package (and relative imports and reads resolve in it).
  process.chdir(cwd);
  readFunctionEnv();
  try {
    invoke = await loadHandler(handler);
  } catch (err) {
    // Written before the host hears of it (stderr is a pipe: synchronous), which then stops us.
    if (err instanceof HandlerLoadError) report(err.message, err.cause ?? err);
    else report('cannot load the handler', err);
    throw err;
  }
}

function handle(call: IncomingCall): void {
  let result: unknown;
  try {
    if (!invoke) throw new Error('no function is loaded in this instance yet');
    result = invoke(toRequest(call), new CallContext(call, facts));
  } catch (err) {
    return failCall(call, err);
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(
      (value) => sendResult(call, value),
      (err: unknown) => failCall(call, err),
    );
  } else {
    sendResult(call, result);
  }
}

// A pooled shim has time before its function arrives: it runs a stand-in through the paths a
// first call takes (see warm-up.ts), then forgets it.
if (pooled) {
  await warmUp(socketPath!, (call) => currentCall.run(call.requestId, handle, call), async (spec) => {
    invoke = await loadHandler((spec as { handler: string }).handler);
  });
  invoke = undefined;
}

// Listening only now: the gateway takes "the socket accepts connections" as "ready".
const server = serveFrames(socketPath!, (call) => currentCall.run(call.requestId, handle, call), pooled ? onLoad : undefined);
server.on('error', (err) => fatal(71, `cannot listen on ${socketPath}`, err));
// A failed LOAD was reported and answered (RESET): half-imported code must never serve.
server.on('loadfailed', () => process.exit(78));

async function drainAndExit(): Promise<void> {
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, DRAIN_MS).unref());
  await Promise.race([Promise.all([server.shutdown(DRAIN_MS), Promise.allSettled([...background])]), deadline]);
  process.exit(0);
}
process.once('SIGTERM', () => void drainAndExit());
process.once('SIGINT', () => void drainAndExit());
