/**
 * The blob stores Ferry can keep package contents in, by kind. A new backend (NATS JetStream's
 * object store) joins as one more entry and runs `blob-store.suite.ts`.
 */
import type { BlobStore } from '../core/blob-store.js';
import { LocalBlobStore } from './local/local-blob-store.js';

/** Options every blob store factory accepts. */
export interface BlobStoreOptions {
  /** Ferry's data directory; a local store keeps its files under it. */
  dataDir: string;
  /** This process's own directory for puts in progress (`blobs/<scratch>`); default `.incoming`. */
  scratch?: string;
}

/** Blob store factories keyed by kind. */
export const blobStores = {
  local: (opts: BlobStoreOptions): BlobStore => new LocalBlobStore(opts.dataDir, opts.scratch),
} satisfies Record<string, (opts: BlobStoreOptions) => BlobStore>;

/** A kind of blob store Ferry knows. */
export type BlobStoreKind = keyof typeof blobStores;
