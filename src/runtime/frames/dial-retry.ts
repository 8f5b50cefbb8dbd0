import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../errors/index.js';
import { notListening, type Dialer } from '../../core/index.js';

/** The reason a start gives up with: the signal's own FerryError, else a timeout. */
export function startAborted(signal: AbortSignal): FerryError {
  return signal.reason instanceof FerryError ? signal.reason : new FerryError('instance-start-failed', 'the instance did not start listening in time');
}

/**
 * A stream through the channel as soon as the instance listens: a dial that finds nothing yet is
 * retried quickly (a cold start waits on this) until `signal` aborts; any other failure (the
 * driver refused what it found) is final.
 */
export async function dialWhenListening(dial: Dialer, signal: AbortSignal, intervalMs = 2): Promise<Duplex> {
  for (;;) {
    if (signal.aborted) throw startAborted(signal);
    let stream: Duplex;
    try {
      stream = await dial();
    } catch (err) {
      if (!notListening(err)) throw new FerryError('instance-start-failed', `cannot reach the instance: ${(err as Error).message}`, { cause: err });
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
      continue;
    }
    if (!signal.aborted) return stream;
    stream.destroy();
  }
}
