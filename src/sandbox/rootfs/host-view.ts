import type { ExecutableNeed, RootfsView } from '../../core/index.js';
import { hostLibraryDirs } from './host-library-dirs.js';
import { programOnPath } from './program-on-path.js';
import { pythonInterpreter } from './python-interpreter.js';

/** The executable of a need on the host (behind a pyenv shim: the real interpreter). */
function executable(need: ExecutableNeed): string {
  if (need.kind === 'node') return process.execPath;
  if (need.kind === 'python3') return pythonInterpreter().executable;
  return programOnPath(need.name);
}

/**
 * The root file system of drivers that share the host's files (bwrap on the host's root, gvisor,
 * process): every need is where it is on the host, bound there (see host-paths.ts).
 */
export const hostRootfsView: RootfsView = {
  command: (need, args) => [executable(need), ...args],
  runtimeFile: (hostPath) => hostPath,
  libraries: (language) => hostLibraryDirs(language),
};
