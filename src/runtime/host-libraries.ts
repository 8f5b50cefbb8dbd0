import type { EffectiveConfig, RootfsNeed, SandboxView } from '../core/index.js';

/** The host's language libraries a version sees (`hostLibraries`): directories as the sandbox sees them, and the needs that bring them. */
export interface HostLibraries {
  /** Python's site/dist-packages, to put on `sys.path` after everything of the function. */
  python: string[];
  /** Global node module directories, for `NODE_PATH` (searched after every `node_modules`). */
  node: string[];
  rootfs: RootfsNeed[];
}

/** None unless the version asks for them (a ShortedFaaS surface's, or an admin's); `languages`: those the runtime uses. */
export function hostLibraries(config: EffectiveConfig, view: SandboxView, languages: Array<'node' | 'python'>): HostLibraries {
  if (!config.sandbox.hostLibraries) return { python: [], node: [], rootfs: [] };
  const dirs = (language: 'node' | 'python'): string[] => (languages.includes(language) ? view.rootfs.libraries(language) : []);
  return { python: dirs('python'), node: dirs('node'), rootfs: languages.map((language) => ({ kind: 'host-libraries', language })) };
}

/** `NAME: dirs`, after what the function's own environment already lists in it (a colon list). */
export function appendPath(env: Record<string, string>, name: string, dirs: string[]): Record<string, string> {
  if (dirs.length === 0) return {};
  return { [name]: [env[name], ...dirs].filter((d) => !!d).join(':') };
}
