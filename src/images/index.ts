/**
 * Container images: reading archives (and, through the blob cache, registry blobs) into package
 * trees. The server imports the files it needs at start directly (archive-media-types,
 * image-manifest, lazy-importer, registry-settings), not this index, which loads everything.
 */
export { BlobCache, type BlobPutOptions } from './blob-cache.js';
export { ImageImporter, type ImageImportOptions } from './image-importer.js';
export { imageArchiveFormat, imageArchiveMediaTypes } from './archive-media-types.js';
export { LazyImageImporter, type ImageImports } from './lazy-importer.js';
export { imageManifest, type ImportedImage } from './image-manifest.js';
export { flattenLayers, type LayerRef, type FlattenResult } from './flatten.js';
export { parseImageConfig, type ParsedImageConfig } from './image-config.js';
export { selectManifest, WANTED_PLATFORM, type Descriptor } from './oci-index.js';
export type { ImageArchiveFormat, ImageArchiveLimits } from './read-archive.js';
export { loadRegistrySettings, type RegistrySettings } from './registry-settings.js';
export type { RegistryLogin } from './registry-credentials.js';
