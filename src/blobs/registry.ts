/**
 * The blob stores Ferry can keep package contents in, by kind: files in the data dir (`local`),
 * or NATS JetStream's object store (`nats`, with a NATS store). Each runs `blob-store.suite.ts`.
 */
import type { BlobStore } from '../core/blob-store.js';
import type { NatsConnectOptions } from '../nats/index.js';
import { LocalBlobStore } from './local/local-blob-store.js';

/** Options every blob store factory accepts. */
export interface BlobStoreOptions {
  /** Ferry's data directory; a local store keeps its files under it. */
  dataDir: string;
  /** The NATS connection, for the `nats` kind. */
  nats?: NatsConnectOptions;
  /** Names the NATS bucket (default `ferry`), so deployments can share an account. */
  natsPrefix?: string;
  /** This process's own directory for puts in progress (`blobs/<scratch>`); default `.incoming`. */
  scratch?: string;
}

/** Blob store factories keyed by kind. */
export const blobStores = {
  local: async (opts: BlobStoreOptions): Promise<BlobStore> => new LocalBlobStore(opts.dataDir, opts.scratch),
  nats: async (opts: BlobStoreOptions): Promise<BlobStore> => {
    if (!opts.nats) throw new Error('the NATS blob store needs the NATS connection settings (--store nats://...)');
    // Loaded only on a NATS store: a server on the embedded one never loads it.
    const { NatsBlobStore } = await import('./nats/nats-blob-store.js');
    return new NatsBlobStore({ nats: opts.nats, ...(opts.natsPrefix ? { prefix: opts.natsPrefix } : {}) });
  },
} satisfies Record<string, (opts: BlobStoreOptions) => Promise<BlobStore>>;

/** A kind of blob store Ferry knows. */
export type BlobStoreKind = keyof typeof blobStores;
