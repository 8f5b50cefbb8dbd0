/**
 * Builds the web `Request` a handler receives from an `IncomingCall`, doing as little as Node's
 * fetch implementation allows: `new Request` is the largest cost of a warm call, so nothing else
 * (no body stream for GET/HEAD or empty bodies, no AbortSignal) is created unless needed.
 * Runs inside the instance.
 */
import type { IncomingCall } from '../../shim/frame-server.js';

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

/**
 * The `Request` for `call`, built on first use. `new Request` costs ~4 µs (most of a warm call in
 * the instance); many handlers never look at their request, so they get a stand-in that passes
 * `instanceof Request` and becomes the real one the moment any property is read.
 */
export function toRequest(call: IncomingCall): Request {
  let real: Request | undefined;
  const materialize = (): Request => (real ??= buildRequest(call));
  return new Proxy(Object.create(CallRequest.prototype) as Request, {
    get(_shell, prop) {
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

/** The real `Request`: url `http://<Host or localhost><path>`, streaming body when needed. */
function buildRequest(call: IncomingCall): Request {
  const method = call.method;
  const { record, host } = headerRecord(call);
  const path = call.url.charCodeAt(0) === 47 /* / */ ? call.url : '/' + call.url;
  const init: RequestInit & { duplex?: 'half' } = { method, headers: record };
  if (call.hasBody && mayHaveBody(method)) {
    // A body that arrived whole in the first frame needs no stream of ours.
    const whole = call.bufferedBody();
    if (whole) init.body = whole as Uint8Array as BodyInit;
    else {
      init.body = call.bodyStream();
      init.duplex = 'half';
    }
  }
  try {
    return new CallRequest('http://' + (host || 'localhost') + path, init, call);
  } catch (err) {
    // A Host header that makes no valid URL must not cost the call: fall back to localhost.
    if (!host) throw err;
    return new CallRequest('http://localhost' + path, init, call);
  }
}
