/**
 * The metadata stores Ferry can run on, by the name the configuration uses. A new backend (the
 * NATS JetStream store) joins as one more entry; callers pick one with `stores[kind](opts)`.
 */
import type { Store } from '../core/store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** Options every store factory accepts. */
export interface StoreOptions {
  /** Ferry's data directory; a store keeps its files under it. */
  dataDir: string;
}

/** Store factories keyed by kind. */
export const stores = {
  sqlite: (opts: StoreOptions): Store => new SqliteStore({ dataDir: opts.dataDir }),
} satisfies Record<string, (opts: StoreOptions) => Store>;

/** A kind of store Ferry knows. */
export type StoreKind = keyof typeof stores;
