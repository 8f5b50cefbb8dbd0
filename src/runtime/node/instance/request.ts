/**
 * Builds the web `Request` a handler receives from an `IncomingCall`, doing as little as Node's
 * fetch implementation allows: `new Request` is the largest cost of a warm call, so nothing else
 * (no body stream for GET/HEAD or empty bodies, no AbortSignal) is created unless needed.
 * Runs inside the instance.
 */
import type { IncomingCall } from '../../shim/frame-server.js';
import { CallHeaders } from './call-headers.js';

/**
 * A Request whose `signal` is the call's own, created lazily. Passing `signal` to the constructor
 * instead makes undici link two signals through a FinalizationRegistry: ~3x the cost of the whole
 * constructor (measured on Node 20), paid on every call whether the handler looks at it or not.
 */
class CallRequest extends Request {
  readonly #call: IncomingCall;

  constructor(url: string, init: RequestInit, call: IncomingCall) {
    super(url, init);
    this.#call = call;
  }

  override get signal(): AbortSignal {
    return this.#call.signal;
  }
}

/** Request bodies are only allowed (and only looked at) for these. */
function mayHaveBody(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/**
 * The header init as a null-prototype record: measured cheaper for undici than pairs or a
 * `Headers`. Repeated headers are joined as `Headers.append` would join them.
 */
function headerRecord(call: IncomingCall): { record: Record<string, string>; host: string | undefined } {
  const flat = call.headers;
  const record: Record<string, string> = Object.create(null);
  let host: string | undefined;
  for (let i = 0; i < flat.length - 1; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prev = record[name];
    if (prev === undefined) record[name] = value;
    else record[name] = prev + (name === 'cookie' ? '; ' : ', ') + value;
    if (host === undefined && name === 'host') host = value;
  }
  return { record, host };
}

/** The request URL as `new Request` would hold it (serialised by the URL parser). */
function urlOf(call: IncomingCall, host: string | undefined): string {
  const path = call.url.charCodeAt(0) === 47 /* / */ ? call.url : '/' + call.url;
  try {
    return new URL('http://' + (host || 'localhost') + path).href;
  } catch (err) {
    // A Host header that makes no valid URL must not cost the call: fall back to localhost.
    if (!host) throw err;
    return new URL('http://localhost' + path).href;
  }
}

const decoder = new TextDecoder();

/**
 * The `Request` for `call`, built on first use. `new Request` costs ~10 µs on Node 20 (an abort
 * signal and its bookkeeping, a body stream): more than the rest of a warm call. Most handlers
 * read only the method, URL, headers and maybe a small body, so a stand-in that passes
 * `instanceof Request` answers those itself (the same values the real one would have, `headers`
 * a `Headers` like its own) and becomes the real one the moment anything else is read.
 */
export function toRequest(call: IncomingCall): Request {
  let real: Request | undefined;
  let headers: Headers | undefined;
  let url: string | undefined;
  /** Whether a whole body was read through the stand-in. */
  let consumed = false;
  const materialize = (): Request => (real ??= buildRequest(call, headers, consumed));
  const own = (prop: string | symbol): unknown => {
    switch (prop) {
      case 'headers':
        return (headers ??= new CallHeaders(call.headers));
      case 'method':
        return call.method;
      case 'url':
        return (url ??= urlOf(call, call.header('host')));
      case 'signal':
        return call.signal;
      case 'text':
      case 'json':
      case 'arrayBuffer': {
        const whole = readableWhole(call, consumed);
        if (whole === undefined) return undefined;
        return () => {
          if (consumed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
          consumed = call.hasBody && mayHaveBody(call.method);
          try {
            if (prop === 'arrayBuffer') return Promise.resolve(new Uint8Array(whole).buffer);
            const text = decoder.decode(whole);
            return Promise.resolve(prop === 'text' ? text : (JSON.parse(text) as unknown));
          } catch (err) {
            return Promise.reject(err);
          }
        };
      }
      case 'bodyUsed':
        return consumed;
    }
    return undefined;
  };
  return new Proxy(Object.create(CallRequest.prototype) as Request, {
    get(_shell, prop) {
      if (real === undefined) {
        const value = own(prop);
        if (value !== undefined) return value;
      } else if (prop === 'headers' && headers !== undefined) {
        return headers; // the same object before and after, as a real Request's is
      }
      const r = materialize();
      const value: unknown = Reflect.get(r, prop, r);
      // Methods run on the real Request: undici keeps its state in the object's own slots.
      return typeof value === 'function' && prop !== 'constructor' ? (value as (...a: unknown[]) => unknown).bind(r) : value;
    },
    has: (_shell, prop) => Reflect.has(materialize(), prop),
    set: (_shell, prop, value) => Reflect.set(materialize(), prop, value),
    ownKeys: () => Reflect.ownKeys(materialize()),
    getOwnPropertyDescriptor: (_shell, prop) => Reflect.getOwnPropertyDescriptor(materialize(), prop),
  });
}

/**
 * The whole body when the stand-in can hand it out itself: it arrived whole in the first frames
 * (or there is none) and nothing has streamed it. Undefined otherwise (the real Request reads it).
 */
function readableWhole(call: IncomingCall, consumed: boolean): Uint8Array | undefined {
  if (consumed) return EMPTY;
  if (!call.hasBody || !mayHaveBody(call.method)) return EMPTY;
  return call.bufferedBody() ?? undefined;
}
const EMPTY = new Uint8Array(0);

/**
 * The real `Request`: url `http://<Host or localhost><path>`, streaming body when needed, the
 * stand-in's `Headers` when it made them (changes made through it carry over), and a body the
 * stand-in already read stays read.
 */
function buildRequest(call: IncomingCall, headers: Headers | undefined, consumed: boolean): Request {
  const method = call.method;
  const { record, host } = headerRecord(call);
  const init: RequestInit & { duplex?: 'half' } = { method, headers: headers ?? record };
  if (call.hasBody && mayHaveBody(method)) {
    // A body that arrived whole in the first frame needs no stream of ours.
    const whole = call.bufferedBody();
    if (whole) init.body = whole as Uint8Array as BodyInit;
    else {
      init.body = call.bodyStream();
      init.duplex = 'half';
    }
  }
  const request = new CallRequest(urlOf(call, host), init, call);
  if (consumed && request.body !== null) void request.arrayBuffer().catch(() => {});
  return request;
}
