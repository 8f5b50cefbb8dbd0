import type { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import type { CallSignal, Invocation } from '../core/index.js';

/** The limits stage, before anything starts: a declared body over the cap is refused (413). */
export function checkDeclaredSize(inv: Invocation, maxBytes: number): void {
  if (inv.bodyLength !== undefined && inv.bodyLength > maxBytes) {
    throw new FerryError('body-too-large', `the request body is ${inv.bodyLength} bytes; the limit is ${maxBytes}`);
  }
}

/**
 * A body of no declared size is counted as it streams, and the call stopped past the cap. It
 * observes with a listener of its own (the connector reads with another).
 */
export function capStreamedBody(body: Readable, maxBytes: number, signal: CallSignal): void {
  let seen = 0;
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > maxBytes) {
      body.off('data', onData);
      signal.abort(new FerryError('body-too-large', `the request body exceeds the limit of ${maxBytes} bytes`));
    }
  };
  body.on('data', onData);
  // Counting must not start the flow: the connector is not listening yet (the instance may
  // still be starting), and flowing data with no listener would be lost. It resumes the body.
  body.pause();
}
