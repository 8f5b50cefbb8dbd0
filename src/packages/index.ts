/** Package handling: unpacking uploaded archives safely and the content-addressed package store. */
export { unpackArchive, archiveFormat, archiveMediaTypes, type ArchiveFormat } from './unpack.js';
export { abortable, type UnpackLimits, type UnpackResult } from './tree-writer.js';
export { findPackageRoot, isFile, MANIFEST_FILE } from './package-root.js';
export { FsPackageStore } from './package-store.js';
export { hashTree, walkTree, type TreeEntry } from './tree-hash.js';
export { entryComponents } from './entry-path.js';
export { attachBody } from './body-stream.js';
