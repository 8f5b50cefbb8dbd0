import { fileURLToPath } from 'node:url';
import type { RootfsNeed } from '../../core/index.js';
import { hostLibraryDirs } from './host-library-dirs.js';
import { programOnPath } from './program-on-path.js';
import { pythonInterpreter } from './python-interpreter.js';

/** Ferry's runtime directory (the shims, the relay, the check): the `ferry-runtime` need. */
export const ferryRuntimeDir = fileURLToPath(new URL('../../runtime', import.meta.url));

/**
 * The host paths that provide one need, for drivers that share the host's files (bwrap, gvisor):
 * they bind each read-only at the same path. Every part is resolved once and cached; throws
 * `instance-start-failed` for a need the host cannot meet (no python3, a program not on PATH).
 */
export function hostPathsOf(need: RootfsNeed): string[] {
  switch (need.kind) {
    case 'node':
      return [process.execPath];
    case 'python3':
      return pythonInterpreter().hostPaths;
    case 'ferry-runtime':
      return [ferryRuntimeDir];
    case 'program':
      return [programOnPath(need.name)];
    case 'host-libraries':
      return hostLibraryDirs(need.language);
    case 'host-path':
      return [need.path];
  }
}

/** The host paths of every need in `needs`, in order, each once. */
export function hostPathsOfAll(needs: RootfsNeed[]): string[] {
  return [...new Set(needs.flatMap(hostPathsOf))];
}
