/** Container images: reading archives (and, through the blob cache, registry blobs) into package trees. */
export { BlobCache, type BlobPutOptions } from './blob-cache.js';
export { ImageImporter, imageArchiveFormat, imageArchiveMediaTypes, type ImageImportOptions } from './image-importer.js';
export { imageManifest, type ImportedImage } from './image-manifest.js';
export { flattenLayers, type LayerRef, type FlattenResult } from './flatten.js';
export { parseImageConfig, type ParsedImageConfig } from './image-config.js';
export { selectManifest, WANTED_PLATFORM, type Descriptor } from './oci-index.js';
export type { ImageArchiveFormat, ImageArchiveLimits } from './read-archive.js';
export { loadRegistrySettings, type RegistrySettings } from './registry-settings.js';
export type { RegistryLogin } from './registry-credentials.js';
