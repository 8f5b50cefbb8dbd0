import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { FerryError } from '../errors/index.js';

/**
 * Caps an upload that declares no Content-Length (chunked): bytes pass through until more than
 * `max` went by, then the stream fails with `body-too-large`.
 */
export function capUpload(body: Readable, max: number): Readable {
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > max) cb(new FerryError('body-too-large', `the upload exceeds the limit of ${max} bytes (--max-upload)`));
      else cb(null, chunk);
    },
  });
  body.on('error', (err) => cap.destroy(err));
  return body.pipe(cap);
}
