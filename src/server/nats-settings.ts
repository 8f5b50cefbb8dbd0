/**
 * The NATS side of a server whose `--store` names a NATS server set: the connection options and
 * the prefix its streams and buckets are named by. The queues and the blob store take the same
 * options object as the store, so the process keeps one connection (`openNats` shares it by
 * options).
 */
import type { ServerOptions } from '../config/index.js';
import { isNatsUrl, parseNatsServers, type NatsConnectOptions } from '../nats/index.js';

export interface NatsSettings {
  connect: NatsConnectOptions;
  prefix: string;
}

/** Undefined when the store is embedded (`sqlite`). */
export function natsSettingsOf(opts: Pick<ServerOptions, 'store'>): NatsSettings | undefined {
  if (!isNatsUrl(opts.store)) return undefined;
  const { servers, user } = parseNatsServers(opts.store);
  return { connect: { servers, ...(user !== undefined ? { user } : {}) }, prefix: 'ferry' };
}
