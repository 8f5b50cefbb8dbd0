import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { RootfsNeed } from '../../core/index.js';
import { FERRY_DIR, imageEntries, outermost } from '../bwrap/image-root.js';
import { FERRY_LIB_DIR, hostLibraries } from '../bwrap/host-libraries.js';
import { hostPathsOfAll } from '../rootfs/index.js';
import { GVISOR_RUN_DIR } from './oci-spec.js';

/**
 * The root of a container image version under gVisor. runsc's gofer makes every mount point in
 * the bundle's root directory on the host, so the image's own tree (sealed, shared by every
 * instance) cannot be that root. The root is instead a skeleton Ferry makes once per image: the
 * image's top-level links as they are, an empty directory or file for every other entry (and for
 * /etc's entries when a resolv.conf must replace the image's), each then bound read-only from the
 * image. The mount points Ferry adds (/tmp, /proc, /dev, /run/ferry, /.ferry) are made in the
 * skeleton, never in the image.
 */

/** Entries Ferry or gVisor mount in every image root (its kernel's /tmp, /proc, /dev, /sys; the run dir; /.ferry). */
const OWN = new Set([FERRY_DIR.slice(1), 'run', 'tmp', 'proc', 'dev', 'sys']);

/** One OCI bind, read-only. */
export interface ImageBind {
  source: string;
  destination: string;
}

/** The skeleton root and the binds of one image (`etc`: /etc entry by entry, resolv.conf left to Ferry). */
export interface ImageRoot {
  rootDir: string;
  binds: ImageBind[];
}

/**
 * The root of image `packageDir`, its skeleton made under `rootsDir` when missing (atomically:
 * two instances of one image starting together make it once each and keep either).
 */
export function imageRoot(rootsDir: string, packageDir: string, replaceResolvConf: boolean): ImageRoot {
  const top = imageEntries(packageDir);
  if (!top) throw new FerryError('instance-start-failed', "the image's root file system is missing");
  const etc = top.find((e) => e.name === 'etc');
  const spliceEtc = replaceResolvConf;
  const binds: ImageBind[] = [];
  const skeleton: Array<{ path: string; kind: 'dir' | 'file' } | { path: string; kind: 'link'; target: string }> = [{ path: 'run', kind: 'dir' }];
  const add = (hostDir: string, at: string, skip: ReadonlySet<string>): void => {
    for (const e of imageEntries(hostDir) ?? []) {
      if (skip.has(e.name)) continue;
      const path = at ? `${at}/${e.name}` : e.name;
      skeleton.push(e.kind === 'link' ? { path, kind: 'link', target: e.target } : { path, kind: e.kind });
      if (e.kind !== 'link') binds.push({ source: join(hostDir, e.name), destination: `/${path}` });
    }
  };
  add(packageDir, '', spliceEtc ? new Set([...OWN, 'etc']) : OWN);
  if (spliceEtc) {
    skeleton.push({ path: 'etc', kind: 'dir' }, { path: 'etc/resolv.conf', kind: 'file' });
    if (etc?.kind === 'dir') add(join(packageDir, 'etc'), 'etc', new Set(['resolv.conf']));
  }
  // The image's own /run entries beside Ferry's run dir.
  if (top.find((e) => e.name === 'run')?.kind === 'dir') add(join(packageDir, 'run'), 'run', new Set([GVISOR_RUN_DIR.split('/').pop()!]));

  const key = createHash('sha256').update(`${packageDir}\0${spliceEtc}`).digest('hex').slice(0, 24);
  const rootDir = join(rootsDir, key);
  if (!existsSync(rootDir)) {
    const tmp = `${rootDir}.${randomUUID().slice(0, 8)}`;
    mkdirSync(tmp, { recursive: true, mode: 0o755 });
    for (const e of skeleton) {
      const at = join(tmp, e.path);
      if (e.kind === 'dir') mkdirSync(at, { mode: 0o755 });
      else if (e.kind === 'file') writeFileSync(at, '', { mode: 0o644 });
      else if (e.kind === 'link') symlinkSync(e.target, at);
    }
    try {
      renameSync(tmp, rootDir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // made meanwhile by another start
    }
  }
  return { rootDir, binds };
}

/**
 * Ferry's own host files in an image root, read-only: each under /.ferry at its host path (Node,
 * the runtime's shims), and the host loader and libraries Node needs under /.ferry/lib (the
 * image's libc never matters; see bwrap/host-libraries.ts), as the bwrap tier binds them.
 */
export function ferryFileBinds(rootfs: RootfsNeed[]): ImageBind[] {
  const binds = outermost(hostPathsOfAll(rootfs)).map((p) => ({ source: p, destination: `${FERRY_DIR}${p}` }));
  for (const lib of hostLibraries(process.execPath)) binds.push({ source: lib.path, destination: `${FERRY_LIB_DIR}/${lib.name}` });
  return binds;
}
