import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { FERRY_LIB_DIR, hostLibraries, launcherFor } from '../sandbox/bwrap/host-libraries.js';
import { agentPath, distSkip, ferryInGuest, GUEST_FERRY, guestPaths, rootfsFiles, runtimeDir, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';
import { assembleRootfs } from './assemble.js';
import type { GuestKernel } from './kernel.js';
import { resolveInTree } from '../runtime/image-tree.js';
import { inittab } from './guest-files.js';
import { HostTree } from './host-tree.js';

/** Where a root made from elsewhere keeps Ferry's static busybox (its init, the agent's tool). */
export const FOREIGN_BUSYBOX = ferryInGuest('/usr/bin/busybox');

/** What `addFerryFiles` put into a root. */
export interface FerryFiles {
  /** Node inside the root (its host path under /.ferry) and the command that starts it there. */
  node: string;
  nodeCommand: string[];
  /** The root's own python3 (/usr/bin/python3), when it has one. */
  python: string | undefined;
}

/**
 * Ferry's files in a root made from elsewhere (an image's layers, a Debian minbase), all under
 * /.ferry so nothing of the root's own is replaced but /etc/inittab (the guest's init table):
 * this host's Node at /.ferry/<host path>, started through the host's loader with the host's
 * libraries at /.ferry/lib (the root's libc, another glibc, musl or none, never matters), Ferry's
 * runtime and agent at /.ferry/<host path>, and the host's static busybox (FOREIGN_BUSYBOX).
 * The mount points the guest needs are made where the root lacks them.
 */
export function addFerryFiles(root: string, busybox: string, log: (line: string) => void): FerryFiles {
  const ferryTree = new HostTree(join(root, GUEST_FERRY));
  ferryTree.add(runtimeDir, distSkip);
  ferryTree.add(dirname(agentPath), distSkip);
  const put = (from: string, to: string, mode: number): void => {
    mkdirSync(dirname(join(root, to)), { recursive: true, mode: 0o755 });
    copyFileSync(from, join(root, to));
    chmodSync(join(root, to), mode);
  };
  const node = ferryInGuest(process.execPath);
  put(process.execPath, node, 0o755);
  for (const lib of hostLibraries(process.execPath)) put(lib.path, `${FERRY_LIB_DIR}/${lib.name}`, 0o755);
  put(busybox, FOREIGN_BUSYBOX, 0o755);
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc', 'root', guestPaths.packageDir.slice(1)]) {
    const st = lstatSync(join(root, d), { throwIfNoEntry: false });
    if (!st) mkdirSync(join(root, d), { mode: 0o755 });
    else if (!st.isDirectory()) throw new FerryError('image-invalid', `the root's /${d} is not a directory: the guest mounts its own there`);
  }
  const nodeCommand = [...launcherFor(process.execPath), node];
  writeFileSync(join(root, 'etc', 'inittab'), inittab(nodeCommand.join(' '), ferryInGuest(agentPath), FOREIGN_BUSYBOX), { mode: 0o644 });
  const python = resolveInTree(root, '/usr/bin/python3')?.stats.isFile() ? '/usr/bin/python3' : undefined;
  log(`ferry: node ${node} through the host's loader, the agent and the runtime under ${GUEST_FERRY}; python3: ${python ?? 'none in the root'}`);
  return { node, nodeCommand, python };
}

/**
 * Finishes a root made from elsewhere whose tree is in `work`: Ferry's files added, then the
 * initramfs, kernel and manifest every mode shares (`mode` and `source` say what it was made from).
 */
export function finishForeignRoot(work: string, kernel: GuestKernel, busybox: string, mode: 'image' | 'debian', source: string, log: (line: string) => void): RootfsManifest {
  const root = rootfsFiles(work).root;
  const ferry = addFerryFiles(root, busybox, log);
  const size = treeSize(root);
  return assembleRootfs(work, kernel, busybox, FOREIGN_BUSYBOX, { mode, source, ...ferry, agent: agentPath, rootBytes: size.bytes, rootFiles: size.files }, log);
}

/** Files and bytes of the tree at `dir` (links and directories not counted). */
function treeSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.isFile()) {
        files++;
        bytes += lstatSync(join(d, e.name)).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}
