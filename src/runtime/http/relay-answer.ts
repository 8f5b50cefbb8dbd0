import type { IncomingMessage } from 'node:http';
import { FerryError } from '../../errors/index.js';
import type { CallMeta, CallSignal, ResponseWriter } from '../../core/index.js';

/** The reason a cancelled call fails with: the signal's own FerryError, else a timeout. */
export function abortReason(signal: CallSignal): FerryError {
  return signal.reason instanceof FerryError ? signal.reason : new FerryError('invoke-timeout', 'the call was cancelled');
}

/**
 * Streams an upstream HTTP answer into the call's response writer: the head (with `headers`,
 * already filtered), then the body with backpressure. `settle()` once it is all written;
 * `settle(err)` when the client left, or the upstream cut the answer short (`cut()` says how).
 */
export function relayAnswer(ures: IncomingMessage, res: ResponseWriter, meta: CallMeta, headers: string[], o: { settled(): boolean; settle(err?: FerryError): void; cut(): FerryError }): void {
  meta.onHeaders();
  res.writeHead(ures.statusCode ?? 502, headers);
  // A body of unknown length is a stream (server-sent events, ndjson): the client must see the
  // head before the first chunk, which may be long in coming.
  if (ures.headers['content-length'] === undefined) res.flushHeaders?.();
  res.once('close', () => {
    if (!o.settled()) o.settle(meta.signal.aborted ? abortReason(meta.signal) : new FerryError('invoke-timeout', 'the client went away'));
  });
  ures.on('data', (chunk: Buffer) => {
    if (!res.write(chunk)) {
      ures.pause();
      res.once('drain', () => ures.resume());
    }
  });
  ures.once('end', () => {
    if (o.settled()) return;
    res.end();
    o.settle();
  });
  ures.once('close', () => {
    if (!ures.complete) o.settle(o.cut());
  });
  ures.on('error', () => {
    /* 'close' follows */
  });
}
