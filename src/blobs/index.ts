/** Public face of the blob stores: the registry, and the local and NATS stores for direct use. */
export { blobStores, type BlobStoreKind, type BlobStoreOptions } from './registry.js';
export { LocalBlobStore } from './local/local-blob-store.js';
export { NatsBlobStore, type NatsBlobStoreOptions } from './nats/nats-blob-store.js';
