export { nodeDirectories, openNodeDirectory, type NodeDirectoryKind, type NodeDirectoryOptions } from './registry.js';
