import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The guest user instances run as (never root); the agent is root. */
export const GUEST_UID = 1000;

/** Where the package and the run dir appear in every microvm guest. */
export const guestPaths = { packageDir: '/pkg', runDir: '/run/ferry' } as const;

/** What `ferry rootfs build` records about the root it built. */
export interface RootfsManifest {
  /** How it was made: `host` (the host's runtimes at their host paths). */
  mode: 'host';
  builtAt: string;
  kernel: string;
  /** Host paths of the runtimes inside (at the same paths). */
  node: string;
  python: string | undefined;
  /** The agent's path inside (its host path in Ferry's dist/). */
  agent: string;
  rootBytes: number;
  rootFiles: number;
  initrdBytes: number;
}

/** Where a data dir's microvm root is built and looked for. */
export const rootfsDirOf = (dataDir: string): string => join(dataDir, 'microvm');

/** Where each piece of a built root lives in its directory. */
export function rootfsFiles(dir: string): { vmlinuz: string; initrd: string; root: string; manifest: string } {
  return { vmlinuz: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.cpio.gz'), root: join(dir, 'root'), manifest: join(dir, 'rootfs.json') };
}

/** The manifest of the root built in `dir`, or undefined when there is none. */
export function readRootfs(dir: string): RootfsManifest | undefined {
  const files = rootfsFiles(dir);
  if (!existsSync(files.manifest) || !existsSync(files.root) || !statSync(files.root).isDirectory()) return undefined;
  return JSON.parse(readFileSync(files.manifest, 'utf8')) as RootfsManifest;
}
