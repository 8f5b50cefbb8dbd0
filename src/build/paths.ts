import { join } from 'node:path';

/** Where builds keep their files under the data dir. */
export const buildRoot = (dataDir: string): string => join(dataDir, 'builds');

/** The per-build work dirs: nothing there outlives the server that made it. */
export const buildWorkRoot = (dataDir: string): string => join(buildRoot(dataDir), 'work');
