import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ResponseWriter } from '../../core/index.js';
import { flatHeaders } from '../../service/index.js';
import { headerFields } from './header-fields.js';

/** One message of `InvokeStream`: the head first, then the body's pieces. */
export type InvokeChunk = { head: { status: number; headers: Array<{ name: string; value: string }> } } | { data: Buffer };

/**
 * The response writer of `InvokeStream`: the head becomes the first message, every body write
 * the next one, as the function sends it. Back-pressure is the call's: `write` answers false
 * while grpc-js holds more than its high-water mark, and `drain` follows.
 */
export class StreamWriter extends EventEmitter implements ResponseWriter {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  writableFinished = false;

  constructor(private readonly call: ServerWritableStream<unknown, InvokeChunk>) {
    super();
    call.on('drain', () => this.emit('drain'));
    // The caller went away or its deadline passed: the answer is over, unfinished.
    call.on('cancelled', () => this.destroy());
  }

  writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): this {
    if (this.headersSent || this.destroyed) return this;
    this.statusCode = status;
    this.headersSent = true;
    this.call.write({ head: { status, headers: headerFields(flatHeaders(headers)) } });
    return this;
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.destroyed) return true;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (chunk.length === 0) return true;
    // A copy: grpc-js may queue the message, and the connector may reuse the buffer meanwhile.
    return this.call.write({ data: Buffer.from(chunk) });
  }

  end(chunk?: Uint8Array | string): this {
    if (this.writableFinished || this.destroyed) return this;
    if (chunk !== undefined && chunk.length) this.write(chunk);
    else if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableFinished = true;
    this.call.end();
    this.emit('close');
    return this;
  }

  destroy(): this {
    if (this.destroyed || this.writableFinished) return this;
    this.destroyed = true;
    this.emit('close');
    return this;
  }
}
