import { existsSync } from 'node:fs';
import type { HostLibraryLanguage } from '../../core/index.js';
import { pythonInterpreter } from './python-interpreter.js';

/** Where Debian's `node-*` packages and `npm install -g` put modules, in the order searched. */
const nodeGlobalDirs = ['/usr/share/nodejs', '/usr/lib/nodejs', '/usr/lib/node_modules', '/usr/local/lib/node_modules'];

let node: string[] | undefined;

/**
 * The `host-libraries` need: the host's directories of `language` libraries that exist (Python's
 * site/dist-packages, node's global modules). A host without Python has none of Python's: a
 * program (`jq`) may not need them, and a python function fails on its interpreter instead.
 */
export function hostLibraryDirs(language: HostLibraryLanguage): string[] {
  if (language === 'node') return (node ??= nodeGlobalDirs.filter((d) => existsSync(d)));
  try {
    return pythonInterpreter().hostSite;
  } catch {
    return [];
  }
}
