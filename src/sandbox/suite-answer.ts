/** The driver conformance suite's client side (driver.suite.ts): what an instance answered. */
import { EventEmitter } from 'node:events';
import type { ResponseWriter } from '../core/index.js';

/** A response writer that keeps the answer (the suite's one client). */
export class Answer extends EventEmitter implements ResponseWriter {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  private chunks: Buffer[] = [];
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  write(chunk: Uint8Array | string): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined) this.write(chunk);
    this.writableFinished = true;
    this.emit('close');
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
