/**
 * Turns what a handler returned into frames. Plain values (string, bytes, null, JSON) never become
 * a `Response`: that alone would cost more than the rest of the warm path. A `Response` is read
 * without its stream when undici still holds the bytes it was built from; a streamed body is sent
 * chunk by chunk as it is read, so server-sent events reach the client as they are produced.
 * Runs inside the instance.
 */
import type { IncomingCall } from '../../shim/frame-server.js';
import { logError } from './console.js';
import { responseParts } from './response.js';

const TEXT = ['content-type', 'text/plain; charset=utf-8'];
const BYTES = ['content-type', 'application/octet-stream'];
const JSON_TYPE = ['content-type', 'application/json'];
const NONE: string[] = [];

/**
 * undici keeps the source of a `new Response(string | bytes)` body next to the stream it wraps it
 * in. Reading it there skips the stream entirely (measured: arrayBuffer() doubles the cost of a
 * Response). This is an internal: it is probed once at startup and, if it is not what we expect,
 * every body goes through the public API instead.
 */
const stateKey: symbol | undefined = (() => {
  const probe = new Response('probe');
  const key = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'state');
  const state = key && (probe as unknown as Record<symbol, { body?: { source?: unknown } } | undefined>)[key];
  return state?.body?.source === 'probe' ? key : undefined;
})();

/** The bytes a fresh Response was built from, or undefined when only its stream has them. */
function sourceOf(r: Response): string | Uint8Array | undefined {
  if (stateKey === undefined || r.bodyUsed) return undefined;
  const state = (r as unknown as Record<symbol, { body?: { source?: unknown } | null } | undefined>)[stateKey];
  const source = state?.body?.source;
  return typeof source === 'string' || source instanceof Uint8Array ? source : undefined;
}

/** Handler failed: its stack goes to the call's stderr, the host gets a RESET (500 function-error). */
export function failCall(call: IncomingCall, err: unknown): void {
  if (call.aborted || call.finished) return;
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `non-error thrown: ${String(err)}`;
  logError(call.requestId, text);
  call.fail(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

/** Sends `value` as the call's answer; see the runtime's conversion rules. Never throws. */
export function sendResult(call: IncomingCall, value: unknown): void {
  if (call.aborted) return;
  try {
    if (typeof value === 'string') return call.respond(200, TEXT, value);
    if (value === null || value === undefined) return call.respond(204, NONE);
    const parts = responseParts(value);
    if (parts?.stream) {
      call.respondStream(parts.status, withoutFraming(parts.headers));
      return void pump(call, parts.stream);
    }
    if (parts) return call.respond(parts.status, parts.headers, parts.source ?? undefined);
    if (value instanceof Response) return sendResponse(call, value);
    if (value instanceof Uint8Array) return call.respond(200, BYTES, value);
    if (value instanceof ArrayBuffer) return call.respond(200, BYTES, new Uint8Array(value));
    if (value instanceof ReadableStream) {
      call.respondStream(200, BYTES);
      return void pump(call, value);
    }
    if (value instanceof Blob) return void sendBlob(call, value);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`the handler returned a ${typeof value}, which is not a response`);
    call.respond(200, JSON_TYPE, json);
  } catch (err) {
    failCall(call, err);
  }
}

async function sendBlob(call: IncomingCall, blob: Blob): Promise<void> {
  try {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    call.respond(200, ['content-type', blob.type || 'application/octet-stream'], bytes);
  } catch (err) {
    failCall(call, err);
  }
}

/** The codings fetch() decodes while keeping the Content-Encoding header that announced them. */
const decodedByFetch = /^\s*(x-gzip|gzip|deflate|br)(\s*,\s*(x-gzip|gzip|deflate|br))*\s*$/i;

/**
 * The head of a streamed body. Its length is the gateway's business (it chunks), so Content-Length
 * goes. A Response straight from fetch() (`url` set) carries the upstream's Content-Encoding
 * though fetch already decoded the body: passing it on would make clients decode twice.
 */
function streamHeaders(r: Response): string[] {
  const flat: string[] = [];
  const fetched = r.url !== '';
  r.headers.forEach((value, name) => {
    if (name === 'content-length' || name === 'transfer-encoding') return;
    if (fetched && name === 'content-encoding' && decodedByFetch.test(value)) return;
    flat.push(name, value);
  });
  return flat;
}

/** A streamed body's length is the gateway's business (it chunks): the function's framing goes. */
function withoutFraming(flat: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < flat.length - 1; i += 2) {
    const name = flat[i]!;
    if (name !== 'content-length' && name !== 'transfer-encoding') kept.push(name, flat[i + 1]!);
  }
  return kept;
}

function flatHeaders(r: Response): string[] {
  const flat: string[] = [];
  r.headers.forEach((value, name) => flat.push(name, value));
  return flat;
}

function sendResponse(call: IncomingCall, r: Response): void {
  if (r.type === 'error') throw new TypeError('the handler returned Response.error()');
  if (r.bodyUsed) throw new TypeError('the handler returned a Response whose body was already read');
  const body = r.body;
  if (body === null) return call.respond(r.status, flatHeaders(r));
  const source = sourceOf(r);
  if (source !== undefined) return call.respond(r.status, flatHeaders(r), source);
  call.respondStream(r.status, streamHeaders(r));
  void pump(call, body);
}

/** Streams `body` as DATA frames, each chunk as soon as it is read; cancels it if the host does. */
async function pump(call: IncomingCall, body: ReadableStream<unknown>): Promise<void> {
  const reader = body.getReader();
  call.onAbort(() => {
    reader.cancel(call.signal.reason).catch(() => {});
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (call.aborted) return;
      if (done) return call.end();
      if (typeof value === 'string') {
        if (!call.write(value)) await call.drained();
      } else if (value instanceof Uint8Array) {
        if (!call.write(value)) await call.drained();
      } else if (value instanceof ArrayBuffer) {
        if (!call.write(new Uint8Array(value))) await call.drained();
      } else {
        throw new TypeError(`the response body stream produced a ${typeof value}, not bytes or a string`);
      }
    }
  } catch (err) {
    if (!call.aborted) {
      reader.cancel(err).catch(() => {});
      failCall(call, err);
    }
  }
}
