/**
 * A call's request body as the instance receives it: chunks kept until someone reads the body,
 * then handed to its one reader (a web stream or a Node Readable). Runs inside sandboxes: imports
 * only Node built-ins.
 */
import { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

/** What receives body chunks once someone reads the body. */
interface BodyConsumer {
  chunk(buf: Buffer): void;
  end(): void;
  error(err: Error): void;
}

export class RequestBody {
  /** True once all the body's bytes arrived. */
  complete = false;
  private chunks: Buffer[] = [];
  private consumer: BodyConsumer | undefined;
  private webStream: ReadableStream<Uint8Array> | undefined;
  private readable: Readable | undefined;
  /** Why the body will never complete (the call was cancelled). */
  private failure: Error | undefined;

  /** The whole body when it already arrived and nobody reads it as a stream; else null. */
  buffered(): Buffer | null {
    if (!this.complete || this.consumer) return null;
    const c = this.chunks;
    return c.length === 0 ? EMPTY : c.length === 1 ? c[0]! : Buffer.concat(c);
  }

  /** The body as a web stream, created on first call (later calls return the same stream). */
  stream(): ReadableStream<Uint8Array> {
    if (this.webStream) return this.webStream;
    this.webStream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.attach({
          chunk: (buf) => controller.enqueue(buf),
          end: () => controller.close(),
          error: (err) => controller.error(err),
        });
      },
      cancel: () => {
        this.consumer = { chunk() {}, end() {}, error() {} };
      },
    });
    return this.webStream;
  }

  /** The body as a Node Readable, created on first call. */
  nodeReadable(): Readable {
    if (this.readable) return this.readable;
    const r = new Readable({ read() {} });
    this.readable = r;
    this.attach({ chunk: (buf) => r.push(buf), end: () => r.push(null), error: (err) => r.destroy(err) });
    return r;
  }

  /** A chunk arrived. */
  push(buf: Buffer): void {
    if (buf.length === 0) return;
    if (this.consumer) this.consumer.chunk(buf);
    else this.chunks.push(buf);
  }

  /** The body is complete. */
  end(): void {
    if (this.complete) return;
    this.complete = true;
    this.consumer?.end();
  }

  /** The call was cancelled: a reader of an incomplete body gets `err`; kept chunks are dropped. */
  fail(err: Error): void {
    this.failure = err;
    if (!this.complete) this.consumer?.error(err);
    this.chunks = [];
  }

  private attach(consumer: BodyConsumer): void {
    this.consumer = consumer;
    for (const c of this.chunks) consumer.chunk(c);
    this.chunks = [];
    if (this.failure) consumer.error(this.failure);
    else if (this.complete) consumer.end();
  }
}
