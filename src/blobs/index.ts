/** Public face of the blob stores: the registry, and the local store for direct use (the NATS one loads through the registry). */
export { blobStores, type BlobStoreKind, type BlobStoreOptions } from './registry.js';
export { LocalBlobStore } from './local/local-blob-store.js';
export type { NatsBlobStoreOptions } from './nats/nats-blob-store.js';
