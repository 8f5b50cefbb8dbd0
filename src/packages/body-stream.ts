import { finished, Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import type { UnpackLimits } from './tree-writer.js';

/**
 * Most bytes of archive stream (raw body, or decompressed tar) accepted for the given limits: the
 * content itself plus generous per-entry room for headers, padding and long names. It bounds the
 * work done on data that is never written (a zip spool, zeros after a tar's end marker).
 */
export function streamBudget(limits: UnpackLimits): number {
  return limits.maxBytes + (limits.maxEntries + 16) * 4096 + 1024 * 1024;
}

/** Passes data through until more than `max` bytes went by, then fails with `archive-too-large`. */
export class ByteCap extends Transform {
  seen = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      cb(new FerryError('archive-too-large', `the archive stream exceeds ${this.max} bytes`));
      return;
    }
    cb(null, chunk);
  }
}

/**
 * Pipes the request `body` into `dest` without tying their lifetimes together (unlike
 * `pipeline`, which would destroy the body and with it the socket the error answer must go out
 * on). Body errors and premature closes are forwarded into `dest`. The returned `detach` stops the
 * pipe and drains what is left of the body, destroying it only after `budget` more bytes.
 */
export function attachBody(body: Readable, dest: Writable): (budget: number) => void {
  let detached = false;
  const stopWatching = finished(body, (err) => {
    if (detached || !err) return;
    dest.destroy(err instanceof FerryError ? err : new FerryError('archive-invalid', `the request body ended early: ${err.message}`, { cause: err }));
  });
  body.pipe(dest);
  return (budget: number) => {
    if (detached) return;
    detached = true;
    stopWatching();
    body.unpipe(dest);
    drain(body, budget);
  };
}

/** Reads and discards the rest of `body` so the request can complete; destroys it past `budget`. */
export function drain(body: Readable, budget: number): void {
  body.on('error', () => {}); // the unpack already failed; this error has nowhere useful to go
  if (body.destroyed || body.readableEnded) return;
  let seen = 0;
  body.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > budget) body.destroy();
  });
  body.resume();
}
