import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The guest user instances run as (never root); the agent is root. */
export const GUEST_UID = 1000;

/** Where the package and the run dir appear in every microvm guest. */
export const guestPaths = { packageDir: '/pkg', runDir: '/run/ferry' } as const;

/** Bumped when what `ferry rootfs build` makes changes (2: the kernel uncompressed beside it, mtimes kept; 3: Ferry's files under /.ferry; 4: the root also as a disk image, what the guest mounts; the package mounted by the agent, not by /init). */
export const ROOTFS_LAYOUT = 4;

/** What `ferry rootfs build` records about the root it built. */
export interface RootfsManifest {
  /**
   * How it was made: `host` (the host's runtimes at their host paths), `image` (an image's root
   * file system) or `debian` (a Debian minbase); the last two with Ferry's Node under /.ferry.
   */
  mode: 'host' | 'image' | 'debian';
  /** What an `image` or `debian` root was made from (the image and its digest; the suite and mirror). */
  source?: string;
  builtAt: string;
  kernel: string;
  /** The layout of this version of the builder: a root of another is built again, not guessed at. */
  layout: typeof ROOTFS_LAYOUT;
  /** Where the runtimes are inside: a `host` root has them at their host paths; another has Ferry's Node under /.ferry and its own python3, if any. */
  node: string;
  /** How Node is started inside (absent: `node` itself): through the host's loader in a root of another libc. */
  nodeCommand?: string[];
  python: string | undefined;
  /** The agent's path inside (its host path in Ferry's dist/). */
  agent: string;
  rootBytes: number;
  rootFiles: number;
  initrdBytes: number;
}

/** Where a data dir's microvm root is built and looked for. */
/** Where `scripts/install-system-deps.sh` extracts Debian's kernel package (the guests' kernel and its modules). */
export const defaultKernelDir = '/var/cache/ferry/microvm-kernel';

export const rootfsDirOf = (dataDir: string): string => join(dataDir, 'microvm');

/** Where each piece of a built root lives in its directory (`vmlinux`, the kernel uncompressed, only where it could be made). */
export function rootfsFiles(dir: string): { vmlinuz: string; vmlinux: string; initrd: string; root: string; rootImage: string; manifest: string } {
  return { vmlinuz: join(dir, 'vmlinuz'), vmlinux: join(dir, 'vmlinux'), initrd: join(dir, 'initrd.cpio.gz'), root: join(dir, 'root'), rootImage: join(dir, 'root.img'), manifest: join(dir, 'rootfs.json') };
}

/** The manifest of the root built in `dir`, or undefined when there is none. */
export function readRootfs(dir: string): RootfsManifest | undefined {
  const files = rootfsFiles(dir);
  if (!existsSync(files.manifest) || !existsSync(files.root) || !statSync(files.root).isDirectory() || !existsSync(files.rootImage)) return undefined;
  const manifest = JSON.parse(readFileSync(files.manifest, 'utf8')) as RootfsManifest;
  return manifest.layout === ROOTFS_LAYOUT ? manifest : undefined;
}

/** This Ferry's guest agent (dist/): the one the roots it builds carry. */
export const agentPath = fileURLToPath(new URL('./agent/agent.js', import.meta.url));

/**
 * Where Ferry's own files (its runtime's shims, the agent) are in the guest: under this prefix at
 * their host paths. Never at the host paths themselves: Ferry installed under /tmp, /run or /pkg
 * would be hidden by what the guest mounts there for the instance.
 */
export const GUEST_FERRY = '/.ferry';

/** The guest's path of one of Ferry's own files. */
export const ferryInGuest = (hostPath: string): string => `${GUEST_FERRY}${hostPath}`;

/** Ferry's runtime directory (the shims instances run), in this installation's dist/. */
export const runtimeDir = fileURLToPath(new URL('../../runtime/', import.meta.url));

/** The names in Ferry's dist a root leaves out: source maps, tests, and python's caches (compiled in the root). */
export const distSkip = /\.(map|test\.js|pyc)$|__pycache__/;

/**
 * Whether the root in `dir` carries this Ferry's agent and runtime (the shims), byte for byte: a
 * root built by another version would speak another wire, or run other shims than the server
 * expects. The reason it does not, or undefined.
 */
export function staleFerryFiles(dir: string): string | undefined {
  const root = rootfsFiles(dir).root;
  // Both as `ferry rootfs build` copies them (distSkip: the tests beside them are not part of the root).
  for (const [from, what] of [[dirname(agentPath), 'guest agent'], [runtimeDir, 'runtime']] as const) {
    for (const file of filesUnder(from)) {
      const there = join(root, ferryInGuest(file));
      if (!existsSync(there) || !readFileSync(there).equals(readFileSync(file))) return `its ${what} file ${file.slice(from.length).replace(/^\//, '')} is not this Ferry's`;
    }
  }
  return undefined;
}

/** The files under `dir` that a root carries (`distSkip` left out), recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (distSkip.test(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
