import type { Readable } from 'node:stream';
import type { CallSignal } from './call-signal.js';

/**
 * The request side of one invocation as a connector sees it. The gateway passes Node's
 * IncomingMessage (it fits this shape); asynchronous executions pass a stored request.
 */
export interface InvocationRequest extends Readable {
  method?: string | undefined;
  /** Path and query as the function sees it (the `/fn/name` prefix removed). */
  url?: string | undefined;
  /** Flat [name, value, name, value, ...] as Node gives them. */
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Where a connector writes the answer: a subset of Node's ServerResponse, so the gateway passes
 * the real response and async executions a buffering sink.
 */
export interface ResponseSink {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): unknown;
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  destroy(err?: Error): unknown;
  flushHeaders?(): void;
}

/** Per-call facts the connector forwards to the instance. */
export interface CallMeta {
  requestId: string;
  /** Aborts when the client goes away or the timeout fires; the connector cancels the call. */
  signal: CallSignal;
  /** Whether a request body follows (Content-Length above 0 or chunked). */
  hasBody: boolean;
  /** Called once the response head arrives (stops the time-to-headers timer). */
  onHeaders(): void;
  /** Flat [name, value, ...] added to the response head (e.g. x-request-id). */
  extraHeaders: string[];
}
