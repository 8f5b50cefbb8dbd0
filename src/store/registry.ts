/**
 * The metadata stores Ferry can run on, by the name the configuration uses (`--store`). A new
 * backend (the NATS JetStream store) joins as one more entry; callers open one with
 * `await stores[kind](opts)`, or `openStore(kind, opts)`, which names the known kinds when it
 * does not know `kind`.
 */
import type { Store } from '../core/store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** What every store factory is given: its own options, not the server's. */
export interface StoreOptions {
  /** Ferry's data directory; a store keeps its files under it. */
  dataDir: string;
}

/** Store factories keyed by kind; async, since a networked store connects before it answers. */
export const stores = {
  sqlite: async (opts: StoreOptions): Promise<Store> => new SqliteStore({ dataDir: opts.dataDir }),
} satisfies Record<string, (opts: StoreOptions) => Promise<Store>>;

/** A kind of store Ferry knows. */
export type StoreKind = keyof typeof stores;

/** Whether Ferry knows a store of this kind. */
export function isStoreKind(kind: string): kind is StoreKind {
  return Object.hasOwn(stores, kind);
}

/** Opens the store of `kind`; an unknown kind is an error naming the known ones. */
export function openStore(kind: string, opts: StoreOptions): Promise<Store> {
  if (!isStoreKind(kind)) throw new Error(`unknown store '${kind}' (--store; known: ${Object.keys(stores).join(', ')})`);
  return stores[kind](opts);
}
