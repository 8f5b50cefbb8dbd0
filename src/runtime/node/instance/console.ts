/**
 * Attributes log lines to calls: while a call runs, each console line goes out as
 * `\x1e<requestId>\x1f<line>`; the host strips the prefix and files the line under that request.
 * Runs inside the instance: Node built-ins only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { formatWithOptions, inspect, type InspectOptions } from 'node:util';

/** The request id of the call whose code is running, if any. */
export const currentCall = new AsyncLocalStorage<string>();

const RS = '\x1e';
const US = '\x1f';

/** `text` as lines, each prefixed with the request id when there is one, newline-terminated. */
export function prefixLines(requestId: string | undefined, text: string): string {
  if (requestId === undefined) return text + '\n';
  const prefix = RS + requestId + US;
  if (text.indexOf('\n') === -1) return prefix + text + '\n';
  return prefix + text.split('\n').join('\n' + prefix) + '\n';
}

/** Writes `text` to stderr attributed to `requestId` (used for the shim's own error reports). */
export function logError(requestId: string | undefined, text: string): void {
  process.stderr.write(prefixLines(requestId, text));
}

type Out = NodeJS.WriteStream;

function writer(stream: Out): (...args: unknown[]) => void {
  return function log(...args: unknown[]): void {
    stream.write(prefixLines(currentCall.getStore(), formatWithOptions({ colors: false }, ...args)));
  };
}

/**
 * Replaces console.log/info/debug/dir (stdout) and console.warn/error (stderr). Installed before
 * the handler module loads, so code that keeps a reference to `console.log` is covered too. Node's
 * other console methods (trace, table, assert, count, time, group) call these, so they are
 * attributed too (console.group's indentation is lost).
 */
export function installConsole(): void {
  const out = writer(process.stdout);
  const err = writer(process.stderr);
  console.log = out;
  console.info = out;
  console.debug = out;
  console.dir = (item: unknown, options?: InspectOptions) => out(inspect(item, { customInspect: false, ...options, colors: false }));
  console.warn = err;
  console.error = err;
}
