import type { ServerResponse } from 'node:http';

/** Aborts when the connection closes before the answer was sent: no one waits for the work any more. */
export function callerGone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => !res.writableFinished && ac.abort());
  return ac.signal;
}
