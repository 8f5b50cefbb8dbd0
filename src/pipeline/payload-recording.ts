import type { Readable } from 'node:stream';
import type { ResponseWriter } from '../core/index.js';

/** Bodies of one call as they pass, for the history of functions with `recordPayloads`. */
export interface RecordedPayloads {
  request: Buffer[];
  response: Buffer[];
}

/** Keeps up to `maxBytes` (+1, so the history sees the cut) of the chunks handed to `keep`. */
function keeper(into: Buffer[], maxBytes: number): (chunk: unknown) => void {
  let used = 0;
  return (chunk) => {
    if (used > maxBytes || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const b = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? Buffer.from(chunk) : undefined;
    if (!b) return;
    into.push(b.subarray(0, maxBytes + 1 - used));
    used += b.length;
  };
}

/**
 * Copies a call's request body as the connector reads it (a listener of its own beside the
 * connector's) and wraps the writer so the response body is copied as it is written. Only for
 * functions that opted in; other calls pay nothing.
 */
export function recordPayloads(body: Readable | undefined, writer: ResponseWriter, maxBytes: number): { payloads: RecordedPayloads; writer: ResponseWriter } {
  const payloads: RecordedPayloads = { request: [], response: [] };
  if (body) {
    body.on('data', keeper(payloads.request, maxBytes));
    // Listening must not start the flow before the connector listens (see capStreamedBody).
    body.pause();
  }
  return { payloads, writer: new RecordingWriter(writer, keeper(payloads.response, maxBytes)) };
}

/** A writer that hands every chunk to `keep` on its way to the writer it wraps. */
class RecordingWriter implements ResponseWriter {
  constructor(
    private readonly inner: ResponseWriter,
    private readonly keep: (chunk: unknown) => void,
  ) {}

  get headersSent(): boolean {
    return this.inner.headersSent;
  }
  get destroyed(): boolean {
    return this.inner.destroyed;
  }
  get statusCode(): number {
    return this.inner.statusCode;
  }
  get writableFinished(): boolean {
    return this.inner.writableFinished;
  }
  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): unknown {
    return this.inner.writeHead(status, headers);
  }
  write(chunk: Uint8Array | string): boolean {
    this.keep(chunk);
    return this.inner.write(chunk);
  }
  end(chunk?: Uint8Array | string): unknown {
    this.keep(chunk);
    return this.inner.end(chunk);
  }
  once(event: 'drain' | 'close', listener: () => void): unknown {
    return this.inner.once(event, listener);
  }
  off(event: 'drain' | 'close', listener: () => void): unknown {
    return this.inner.off(event, listener);
  }
  destroy(err?: Error): unknown {
    return this.inner.destroy(err);
  }
  flushHeaders(): void {
    this.inner.flushHeaders?.();
  }
}
