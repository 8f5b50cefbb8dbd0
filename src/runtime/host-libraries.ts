import { existsSync } from 'node:fs';
import type { EffectiveConfig } from '../core/index.js';
import { pythonInterpreter } from './python/interpreter.js';

/** Where Debian's `node-*` packages and `npm install -g` put modules, in the order searched. */
const nodeGlobalDirs = ['/usr/share/nodejs', '/usr/lib/nodejs', '/usr/lib/node_modules', '/usr/local/lib/node_modules'];

/** The host's language libraries a version sees (`hostLibraries`): directories and the sandbox paths they need. */
export interface HostLibraries {
  /** Python's site/dist-packages, to put on `sys.path` after everything of the function. */
  python: string[];
  /** Global node module directories, for `NODE_PATH` (searched after every `node_modules`). */
  node: string[];
}

/** None unless the version asks for them (a ShortedFaaS surface's, or an admin's). */
export function hostLibraries(config: EffectiveConfig): HostLibraries {
  if (!config.sandbox.hostLibraries) return { python: [], node: [] };
  return { python: pythonSite(config), node: nodeGlobalDirs.filter((d) => existsSync(d)) };
}

/** A python function needs the interpreter (its start fails without); a program may not (`jq`). */
function pythonSite(config: EffectiveConfig): string[] {
  if (config.runtime === 'python') return pythonInterpreter().hostSite;
  try {
    return pythonInterpreter().hostSite;
  } catch {
    return [];
  }
}

/** `NAME: dirs`, after what the function's own environment already lists in it (a colon list). */
export function appendPath(env: Record<string, string>, name: string, dirs: string[]): Record<string, string> {
  if (dirs.length === 0) return {};
  return { [name]: [env[name], ...dirs].filter((d) => !!d).join(':') };
}
