/**
 * The two ends of a run that has no client: a stored request replayed as the connector's
 * request stream, and a sink that keeps the answer in memory, bounded.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { InvocationRequest, ResponseSink, StoredRequest } from '../../core/index.js';

/** A stored request as the readable request a connector expects. */
export class ReplayedRequest extends Readable implements InvocationRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly headers: Record<string, string | string[] | undefined> = {};
  private body: Buffer | undefined;

  constructor(stored: StoredRequest) {
    super();
    this.method = stored.method;
    this.url = stored.path;
    this.rawHeaders = stored.headers;
    for (let i = 0; i < stored.headers.length; i += 2) {
      const name = stored.headers[i]!.toLowerCase();
      const value = stored.headers[i + 1]!;
      const had = this.headers[name];
      this.headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    this.body = stored.body;
  }

  override _read(): void {
    const body = this.body;
    this.body = undefined;
    if (body?.length) this.push(body);
    this.push(null);
  }
}

/** Headers as a connector hands them to `writeHead`: a flat list or an object. */
function flatHeaders(h: Record<string, string | string[] | number> | string[] | undefined): string[] {
  if (h === undefined) return [];
  if (Array.isArray(h)) return h.map(String);
  const out: string[] = [];
  for (const [name, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, String(v));
  }
  return out;
}

/** Keeps the answer in memory; past `maxBytes` it calls `onOverflow` once and keeps no more. */
export class BufferSink extends EventEmitter implements ResponseSink {
  status = 0;
  headers: string[] = [];
  headersSent = false;
  destroyed = false;
  ended = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onOverflow: () => void,
  ) {
    super();
  }

  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): this {
    this.status = status;
    this.headers = flatHeaders(headers);
    this.headersSent = true;
    return this;
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.overflowed || this.destroyed) return true;
    // A copy: the connector may reuse the frame buffer the chunk points into.
    const b = Buffer.from(chunk);
    this.size += b.length;
    if (this.size > this.maxBytes) {
      this.overflowed = true;
      this.chunks = [];
      this.onOverflow();
      return true;
    }
    this.chunks.push(b);
    // Memory, not a socket: never ask the instance to wait.
    return true;
  }

  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined && chunk.length) this.write(chunk);
    this.headersSent = true;
    this.ended = true;
    return this;
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}
