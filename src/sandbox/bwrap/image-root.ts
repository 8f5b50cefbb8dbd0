import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { RootfsView, SandboxSettings } from '../../core/index.js';
import { FERRY_LIB_DIR, hostLibraries, launcherFor } from './host-libraries.js';

/**
 * The root of a container image version's sandbox: the image's root file system (its package)
 * instead of the host's system directories. bwrap's own root stays a fresh tmpfs and each
 * top-level entry of the image is bound onto it read-only, so the mount points Ferry adds
 * (/tmp, /proc, /dev, /run/ferry, /.ferry and the network's /etc files) are made on that tmpfs
 * and never in the image's tree, which is shared by every instance and sealed on the host.
 */

/** Ferry's own files in an image root: a name no image uses, so nothing of it is hidden. */
export const FERRY_DIR = '/.ferry';

/** Entries of one directory bound one by one; an image with more in / , /etc or /run is refused. */
const MAX_SPLICED = 4096;

type Entry = { name: string; kind: 'dir' | 'file' } | { name: string; kind: 'link'; target: string };

/** Directory listings of sealed, content-addressed trees: they never change, so they are kept. */
const listings = new Map<string, Entry[] | undefined>();

/** The entries of image directory `dir` (undefined: not a directory of the image). */
export function imageEntries(dir: string): Entry[] | undefined {
  if (listings.has(dir)) return listings.get(dir);
  let out: Entry[] | undefined;
  try {
    const names = readdirSync(dir);
    if (names.length > MAX_SPLICED) throw new FerryError('instance-start-failed', `the image has more than ${MAX_SPLICED} entries in one of /, /etc or /run`);
    out = [];
    for (const name of names.sort()) {
      const st = lstatSync(join(dir, name));
      if (st.isSymbolicLink()) out.push({ name, kind: 'link', target: readlinkSync(join(dir, name)) });
      else if (st.isDirectory()) out.push({ name, kind: 'dir' });
      else if (st.isFile()) out.push({ name, kind: 'file' });
    }
  } catch (err) {
    if (err instanceof FerryError) throw err;
    out = undefined; // not a directory of the image
  }
  if (listings.size >= 1024) listings.clear();
  listings.set(dir, out);
  return out;
}

/** bwrap args showing the entries of the image directory `hostDir` at `dest`, read-only, but those in `skip`. */
function splice(hostDir: string, dest: string, skip: ReadonlySet<string>): string[] {
  const a: string[] = [];
  for (const e of imageEntries(hostDir) ?? []) {
    if (skip.has(e.name)) continue;
    const to = posix.join(dest, e.name);
    // A link is recreated with its own text: it resolves inside the sandbox, never on the host.
    if (e.kind === 'link') a.push('--symlink', e.target, to);
    else a.push('--ro-bind', join(hostDir, e.name), to);
  }
  return a;
}

/**
 * bwrap args for an image root at `packageDir`: every top-level entry of the image but those
 * Ferry mounts itself (/tmp, /proc, /dev by the version's switches; /.ferry), /run with the
 * image's entries beside the run dir's mount point, and /etc entry by entry when the network
 * plan replaces files in it (`etcFiles`: e.g. resolv.conf naming the egress stack's resolver).
 */
export function imageRootArgs(packageDir: string, s: SandboxSettings, etcFiles: string[]): string[] {
  const top = imageEntries(packageDir);
  if (!top) throw new FerryError('instance-start-failed', "the image's root file system is missing");
  const skip = new Set([FERRY_DIR.slice(1), 'run']);
  if (s.mountTmp) skip.add('tmp');
  if (s.mountProc) skip.add('proc');
  if (s.mountDev) skip.add('dev');
  const etc = top.find((e) => e.name === 'etc');
  const spliceEtc = etcFiles.length > 0 && etc?.kind === 'dir';
  if (spliceEtc) skip.add('etc');
  const a = splice(packageDir, '/', skip);
  if (spliceEtc) a.push('--dir', '/etc', ...splice(join(packageDir, 'etc'), '/etc', new Set(etcFiles.map((f) => posix.basename(f)))));
  a.push('--dir', '/run');
  if (top.find((e) => e.name === 'run')?.kind === 'dir') a.push(...splice(join(packageDir, 'run'), '/run', new Set(['ferry'])));
  return a;
}

/**
 * bwrap args binding Ferry's host files into an image root, read-only: each under /.ferry at its
 * host path (Node, the runtime directory, the helper) and the host loader and libraries they
 * need under /.ferry/lib. `src` maps a host path to what bwrap can bind (see bridge.ts).
 */
export function ferryBinds(hostPaths: string[], programs: string[], src: (p: string) => string): string[] {
  const a: string[] = [];
  for (const p of outermost(hostPaths)) a.push('--ro-bind', src(p), `${FERRY_DIR}${p}`);
  const libs = new Map<string, string>();
  for (const program of programs) for (const lib of hostLibraries(program)) libs.set(lib.name, lib.path);
  for (const [name, path] of libs) a.push('--ro-bind', src(path), `${FERRY_LIB_DIR}/${name}`);
  return a;
}

/**
 * An image root's file system as runtimes see it: Ferry's Node and runtime files at /.ferry/<host
 * path>, Node started through the host's loader; nothing else of the host's (the image's own
 * programs run its command).
 */
export const imageRootfsView: RootfsView = {
  command: (need, args) => {
    if (need.kind !== 'node') throw new FerryError('instance-start-failed', `an image's root has no ${need.kind === 'program' ? `'${need.name}'` : need.kind} of the host's`);
    return [...launcherFor(process.execPath), `${FERRY_DIR}${process.execPath}`, ...args];
  },
  runtimeFile: (p) => `${FERRY_DIR}${p}`,
  libraries: () => [],
};

/** Paths not inside another of the list (binding a directory covers what is in it). */
export function outermost(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const out: string[] = [];
  for (const p of sorted) if (!out.some((o) => p === o || p.startsWith(`${o}/`))) out.push(p);
  return out;
}
