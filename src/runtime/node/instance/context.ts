/**
 * The per-call `context` argument of a node handler. A class, so the body getter lives on the
 * prototype and a call that never reads it pays nothing for it. Runs inside the instance.
 */
import type { IncomingCall } from '../../shim/frame-server.js';
import type { InstanceClient } from './objects-client.js';

/** What every context of an instance shares (read from the environment once the function is known). */
export interface InstanceFacts {
  function: string;
  version: string;
  env: Readonly<Record<string, string>>;
  waitUntil(promise: Promise<unknown>): void;
  client: InstanceClient;
}

export class CallContext {
  /** The function name. */
  readonly function: string;
  /** The version serving the call (after alias resolution). */
  readonly version: string;
  readonly requestId: string;
  /** The function's environment at startup (frozen; Ferry's own socket/handler variables removed). */
  readonly env: Readonly<Record<string, string>>;
  /** Keeps background work alive past the response: SIGTERM waits for it, rejections are logged. */
  readonly waitUntil: (promise: Promise<unknown>) => void;
  /** The function's objects, through the instance's socket to Ferry. */
  readonly objects: InstanceClient['objects'];
  /** A request to Ferry through the socket (`/fn/...`, this function's object routes). */
  readonly fetch: InstanceClient['fetch'];
  /** Calls another function: `call('other@prod', { method: 'POST', body, path: '/x' })`. */
  readonly call: InstanceClient['call'];
  readonly #incoming: IncomingCall;

  constructor(incoming: IncomingCall, facts: InstanceFacts) {
    this.function = facts.function;
    this.version = facts.version;
    this.requestId = incoming.requestId;
    this.env = facts.env;
    this.waitUntil = facts.waitUntil;
    this.objects = facts.client.objects;
    this.fetch = facts.client.fetch;
    this.call = facts.client.call;
    this.#incoming = incoming;
  }

  /**
   * The request body as a stream, for every method, or null when the call has none. A web
   * `Request` cannot carry a body on GET or HEAD (CoAP and tinyFaaS clients send one): this is
   * where such a body is. For other methods it is the body `request.body` holds too: read one.
   */
  get body(): ReadableStream<Uint8Array> | null {
    return this.#incoming.hasBody ? this.#incoming.bodyStream() : null;
  }
}
