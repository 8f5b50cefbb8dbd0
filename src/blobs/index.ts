/** Public face of the blob stores: the registry, and the local store for direct use. */
export { blobStores, type BlobStoreKind, type BlobStoreOptions } from './registry.js';
export { LocalBlobStore } from './local/local-blob-store.js';
