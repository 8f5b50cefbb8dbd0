import type { ServerOptions } from '../config/index.js';
import type { Invoke } from '../core/index.js';
import type { Logger } from '../observe/index.js';

/**
 * A front end that is not an HTTP surface: it listens on a socket of its own (CoAP over UDP, gRPC
 * over HTTP/2), maps its wire format to `Invocation`s for the pipeline and Ferry's error codes to
 * its protocol's. A front end is a folder under `frontends/` plus one line in
 * `frontends/registry.ts`; the server starts every one that is on once its HTTP listeners serve,
 * and closes them first when it drains.
 */
export interface FrontEnd {
  readonly name: string;
  /** Where it listens (`coap://[::]:5683`, `grpc://127.0.0.1:9000`): the port it bound, not 0. */
  readonly urls: string[];
  /** Stops taking requests; calls in flight get up to `drainMs` to end, then are cut. */
  close(drainMs: number): Promise<void>;
}

/** What a front end gets from the server. */
export interface FrontEndContext {
  options: ServerOptions;
  /** The invocation pipeline (resolve, authorize, limits, sync or async, history, metrics). */
  invoke: Invoke;
  logger: Logger;
}

/**
 * Starts the front end and resolves once it serves, or resolves undefined when it is off in this
 * configuration. A port it cannot bind rejects (the server's start fails, naming it).
 */
export type FrontEndFactory = (ctx: FrontEndContext) => Promise<FrontEnd | undefined>;
