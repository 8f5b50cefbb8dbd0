/**
 * A response writer that keeps the answer in memory, bounded: for calls with no client on a
 * socket (asynchronous runs, in-process callers).
 */
import { EventEmitter } from 'node:events';
import type { ResponseWriter } from '../core/index.js';

/** Headers as a connector hands them to `writeHead`: a flat list or an object. */
export function flatHeaders(h: Record<string, string | string[] | number> | string[] | undefined): string[] {
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
export class MemoryWriter extends EventEmitter implements ResponseWriter {
  statusCode = 200;
  headers: string[] = [];
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onOverflow: () => void = () => {},
  ) {
    super();
  }

  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): this {
    this.statusCode = status;
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
    if (!this.writableFinished) {
      this.writableFinished = true;
      this.emit('close');
    }
    return this;
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      if (!this.writableFinished) this.emit('close');
    }
    return this;
  }

  /** The first value of a response header, by lower-case name. */
  header(lowerName: string): string | undefined {
    for (let i = 0; i < this.headers.length; i += 2) if (this.headers[i]!.toLowerCase() === lowerName) return this.headers[i + 1];
    return undefined;
  }

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}
