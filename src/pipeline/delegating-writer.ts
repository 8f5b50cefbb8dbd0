import type { ResponseWriter } from '../core/index.js';

/**
 * A writer that hands everything to the writer it wraps: the base of the pipeline's writers that
 * change one thing on the way (the payload recording's copy, the CORS stage's headers).
 */
export class DelegatingWriter implements ResponseWriter {
  constructor(protected readonly inner: ResponseWriter) {}

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
    return this.inner.write(chunk);
  }
  end(chunk?: Uint8Array | string): unknown {
    return this.inner.end(chunk);
  }
  once(event: 'drain' | 'close', listener: () => void): unknown {
    return this.inner.once(event, listener);
  }
  on(event: 'drain' | 'close', listener: () => void): unknown {
    return this.inner.on(event, listener);
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
