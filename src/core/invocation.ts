import type { Readable } from 'node:stream';
import type { FerryError } from '../errors/index.js';
import type { CallSignal } from './call-signal.js';
import type { Principal } from './principal.js';

/**
 * The request part of an invocation: what a connector forwards to the instance. No protocol's
 * object: each front end maps its own wire format to these fields.
 */
export interface InvocationRequest {
  /** The method the function sees (`GET`, `POST`, ...; a CoAP or gRPC front end maps to one). */
  method: string;
  /** Path and query as the function sees them (a surface's own prefix removed). */
  path: string;
  /** Flat [name, value, name, value, ...]; the pipeline removes Ferry's credentials from it. */
  headers: string[];
  /** The request body, for every method (GET included); undefined when there is none. */
  body: Readable | undefined;
  /** The body's declared size in bytes, when known: a small one may be forwarded whole. */
  bodyLength?: number | undefined;
}

/**
 * One invocation as every front end hands it to the pipeline (`pipeline/`): which function, the
 * request, who asks, until when, and whether the answer is wanted now or later. A plain value:
 * callable in process, with no socket.
 */
export interface Invocation extends InvocationRequest {
  /** The function's name. */
  function: string;
  /** A version or alias; undefined: the function's default (its `latest` alias). */
  ref: string | undefined;
  /** The body's declared size in bytes, when the wire said (Content-Length); undefined: unknown. */
  bodyLength: number | undefined;
  /** The caller's request id; kept when valid (`[A-Za-z0-9._:-]{1,128}`), else one is assigned. */
  requestId: string | undefined;
  /** The credential the front end found (`Bearer ...`); checked only when one is asked for. */
  credential: string | undefined;
  /** The caller, when the front end already knows it (then `credential` is not looked at). */
  principal: Principal | undefined;
  /**
   * The transport object the credential came with (an HTTP front end's request), which tells the
   * authenticator where it arrived: an instance token counts only on its instance's own socket.
   */
  origin?: object | undefined;
  /** Epoch ms after which the caller no longer wants the answer; the function's limit still applies. */
  deadline: number | undefined;
  /** `sync`: answer now. `async`: store, answer 202, run later (or, with `execution`, run now). */
  mode: 'sync' | 'async';
  /**
   * Set on the run of an accepted asynchronous invocation: its execution and the version it was
   * accepted for (authorized then, so not again).
   */
  execution?: { id: string; version: string } | undefined;
  /** Aborted by the caller when the answer is no longer wanted (client gone, shutdown). */
  signal?: CallSignal | undefined;
  /** Headers the front end adds to the function's answer (name, value, ...), beside Ferry's own. */
  answerHeaders?: string[] | undefined;
}

/**
 * The response-writer port: where a connector writes the answer. Node's `ServerResponse` has this
 * shape (the HTTP front end passes its own), the execution workers and in-process callers a
 * writer that keeps the answer in memory.
 */
export interface ResponseWriter {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  /** The status of the head written (200 before one is). */
  readonly statusCode: number;
  /** True once the whole answer was handed over. */
  readonly writableFinished: boolean;
  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): unknown;
  /** False: wait for `drain` before writing more. */
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): unknown;
  /** `close`: the answer is over, finished or not (the client may have gone). */
  once(event: 'drain' | 'close', listener: () => void): unknown;
  /** Cheaper than `once` where the listener is taken `off` anyway (no wrapper per call). */
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  destroy(err?: Error): unknown;
  flushHeaders?(): void;
  /** Holds writes back until `uncork` (a front end that can batch them into one send). */
  cork?(): void;
  uncork?(): void;
}

/** Per-call facts the connector forwards to the instance. */
export interface CallMeta {
  requestId: string;
  /** Aborts when the client goes away or the timeout fires; the connector cancels the call. */
  signal: CallSignal;
  /** Called once the response head arrives (stops the time-to-headers timer). */
  onHeaders(): void;
  /** Flat [name, value, ...] added to the response head (e.g. x-request-id). */
  extraHeaders: string[];
}

/** How an invocation ended, as the pipeline tells its front end. */
export interface InvocationOutcome {
  /** The status answered: the function's, 202 for an accepted asynchronous one, or the error's. */
  status: number;
  /** The request id the call ran under (the caller's, or the one assigned). */
  requestId: string;
  /**
   * Why it failed. Nothing was written yet unless `writer.headersSent` (then the answer was cut):
   * the front end renders it in its own protocol.
   */
  error: FerryError | undefined;
}

/** The pipeline's entry point as the layers below it see it (handed to them by the server). */
export type Invoke = (invocation: Invocation, writer: ResponseWriter) => Promise<InvocationOutcome>;
