/**
 * NATS failures that mean the store is away (the connection is down or closed, a request got no
 * answer in time, no JetStream answers), as FerryError `store-unavailable` (503): the caller can
 * retry, and the API says so instead of answering 500. Other errors pass through unchanged. The
 * store, the queues and the node directory on JetStream all answer an outage this way.
 */
import { FerryError } from '../errors/index.js';
import { natsAway } from './connection-status.js';

const away = new Set(['ConnectionError', 'ClosedConnectionError', 'DrainingConnectionError', 'TimeoutError', 'NoRespondersError', 'RequestError']);

export function fromNats(err: unknown): unknown {
  if (err instanceof FerryError || !(err instanceof Error) || !away.has(err.name)) return err;
  return new FerryError('store-unavailable', `the NATS store cannot be reached (${err.message})`, { cause: err });
}

/**
 * Awaits `p`, mapping a NATS outage to `store-unavailable`. Given a function instead, it is not
 * called at all while the connection is known to be down: the caller hears so at once, instead of
 * after the client's request timeout, and no request goes out.
 */
export async function guarded<T>(p: Promise<T> | (() => Promise<T>)): Promise<T> {
  if (typeof p === 'function' && natsAway()) throw new FerryError('store-unavailable', 'the NATS store cannot be reached (the connection is down, reconnecting)');
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (err) {
    throw fromNats(err);
  }
}
