/**
 * The metadata stores Ferry can run on, by the name the configuration uses (`--store`): `sqlite`,
 * or a NATS URL (`nats://host:4222`, several comma-separated, `tls://` too) for the JetStream
 * store. Callers open one with `openStore(setting, opts)`, which names the known kinds when it
 * does not know the setting.
 */
import type { Store } from '../core/store.js';
import { isNatsUrl, parseNatsServers, type NatsConnectOptions } from '../nats/index.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** What every store factory is given: its own options, not the server's. */
export interface StoreOptions {
  /** Ferry's data directory; a store keeps its files under it. */
  dataDir: string;
  /** The NATS connection, for the JetStream store (default: the servers of the `--store` URL, no login). */
  nats?: NatsConnectOptions;
  /** Names the JetStream store's buckets and streams (`--nats-prefix`; default `ferry`). */
  natsPrefix?: string;
}

/** Store factories keyed by kind; async, since a networked store connects before it answers. */
export const stores = {
  sqlite: async (opts: StoreOptions): Promise<Store> => new SqliteStore({ dataDir: opts.dataDir }),
  nats: async (opts: StoreOptions): Promise<Store> => {
    if (!opts.nats) throw new Error('the NATS store needs servers: --store nats://host:4222');
    // Loaded only when chosen: a server on the embedded store never loads the NATS client.
    const { NatsStore } = await import('./nats/nats-store.js');
    return NatsStore.open({ nats: opts.nats, dataDir: opts.dataDir, ...(opts.natsPrefix ? { prefix: opts.natsPrefix } : {}) });
  },
} satisfies Record<string, (opts: StoreOptions) => Promise<Store>>;

/** A kind of store Ferry knows. */
export type StoreKind = keyof typeof stores;

/** The kind a `--store` setting names: `nats` for a NATS URL, else the setting itself. */
export function storeKindOf(setting: string): string {
  return isNatsUrl(setting) ? 'nats' : setting;
}

/** Whether Ferry knows a store of this kind (or this `--store` setting). */
export function isStoreKind(kind: string): kind is StoreKind {
  return Object.hasOwn(stores, storeKindOf(kind));
}

/** Opens the store a `--store` setting names; an unknown one is an error naming the known ones. */
export function openStore(setting: string, opts: StoreOptions): Promise<Store> {
  const kind = storeKindOf(setting);
  if (!Object.hasOwn(stores, kind)) throw new Error(`unknown store '${setting}' (--store; known: sqlite, nats://host:port)`);
  if (kind === 'nats' && !opts.nats) return stores.nats({ ...opts, nats: parseNatsServers(setting) });
  return stores[kind as StoreKind](opts);
}
