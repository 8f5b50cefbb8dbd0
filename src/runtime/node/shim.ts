/**
 * The node runtime's shim: `node shim.js` inside the instance. It loads the function's module,
 * then serves calls from the gateway over the frame socket, one web `Request` in and the handler's
 * return value out. Imports only Node built-ins and the shim/frames code: it runs in sandboxes.
 *
 * Environment: FERRY_SOCKET (where to listen), FERRY_HANDLER (absolute module path, optionally
 * `path:exportName`), FERRY_FUNCTION, FERRY_VERSION, plus the function's own variables.
 * Exit codes: 78 the handler cannot be loaded (the version is broken), 70 an uncaught error
 * (the host replaces the instance), 71 the socket cannot be listened on, 0 after SIGTERM.
 */
import { serveFrames, type IncomingCall } from '../shim/frame-server.js';
import { currentCall, installConsole, logError } from './instance/console.js';
import { HandlerLoadError, loadHandler, type Invoke } from './instance/handler.js';
import { toRequest } from './instance/request.js';
import { failCall, sendResult } from './instance/respond.js';

/** In-flight calls and waitUntil() work get this long to finish after SIGTERM. */
const DRAIN_MS = 5000;

/** The per-call `context` argument of a handler. */
export interface HandlerContext {
  function: string;
  version: string;
  requestId: string;
  /** The function's environment at startup (frozen; Ferry's own socket/handler variables removed). */
  env: Readonly<Record<string, string>>;
  /** Keeps background work alive past the response: SIGTERM waits for it, rejections are logged. */
  waitUntil(promise: Promise<unknown>): void;
}

function fatal(code: number, what: string, err?: unknown): never {
  const detail = err instanceof Error ? `\n${err.stack ?? err.message}` : err === undefined ? '' : `\n${String(err)}`;
  process.stderr.write(`ferry node shim: ${what}${detail}\n`);
  process.exit(code);
}

const socketPath = process.env.FERRY_SOCKET;
const handlerSpec = process.env.FERRY_HANDLER;
if (!socketPath || !handlerSpec) fatal(78, 'FERRY_SOCKET and FERRY_HANDLER must be set');

const userEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) {
  if (v !== undefined && k !== 'FERRY_SOCKET' && k !== 'FERRY_HANDLER') userEnv[k] = v;
}
Object.freeze(userEnv);
const functionName = process.env.FERRY_FUNCTION ?? '';
const version = process.env.FERRY_VERSION ?? '';

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

let invoke: Invoke;
try {
  invoke = await loadHandler(handlerSpec);
} catch (err) {
  if (err instanceof HandlerLoadError) fatal(78, err.message, err.cause ?? err);
  fatal(78, 'cannot load the handler', err);
}

function handle(call: IncomingCall): void {
  let result: unknown;
  try {
    const context: HandlerContext = { function: functionName, version, requestId: call.requestId, env: userEnv, waitUntil };
    result = invoke(toRequest(call), context);
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

// Listening only now: the gateway takes "the socket accepts connections" as "ready".
const server = serveFrames(socketPath, (call) => currentCall.run(call.requestId, handle, call));
server.on('error', (err) => fatal(71, `cannot listen on ${socketPath}`, err));

async function drainAndExit(): Promise<void> {
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, DRAIN_MS).unref());
  await Promise.race([Promise.all([server.shutdown(DRAIN_MS), Promise.allSettled([...background])]), deadline]);
  process.exit(0);
}
process.once('SIGTERM', () => void drainAndExit());
process.once('SIGINT', () => void drainAndExit());
