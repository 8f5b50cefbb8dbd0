import type { Readable } from 'node:stream';
import type { ResponseWriter } from '../core/index.js';
import { DelegatingWriter } from './delegating-writer.js';

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
class RecordingWriter extends DelegatingWriter {
  constructor(
    inner: ResponseWriter,
    private readonly keep: (chunk: unknown) => void,
  ) {
    super(inner);
  }

  override write(chunk: Uint8Array | string): boolean {
    this.keep(chunk);
    return this.inner.write(chunk);
  }
  override end(chunk?: Uint8Array | string): unknown {
    this.keep(chunk);
    return this.inner.end(chunk);
  }
}
