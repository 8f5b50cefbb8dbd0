import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, constants, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { FerryError } from '../errors/index.js';

/**
 * Reading an image's root file system on the host as the instance will see it: every path and
 * every symbolic link is resolved against the tree's root, never the host's, so a link in an
 * image (absolute ones are common: `/etc/alternatives/...`) can never lead the server to a host
 * file.
 */

/** Links followed in one lookup, as the kernel's limit (ELOOP). */
const MAX_LINKS = 40;
/** /etc/passwd and /etc/group are read up to this size; an image with larger ones is refused. */
const MAX_ACCOUNT_FILE = 1024 * 1024;

/** The host path a sandbox path leads to inside `root`, links followed inside the tree; undefined if missing. */
export function resolveInTree(root: string, sandboxPath: string): { hostPath: string; stats: Stats } | undefined {
  const pending = sandboxPath.split('/').filter((c) => c !== '' && c !== '.');
  const at: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      at.pop(); // `..` of the root is the root, as in the sandbox
      continue;
    }
    let st: Stats;
    try {
      st = lstatSync(join(root, ...at, name));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = readlinkSync(join(root, ...at, name));
      if (target.startsWith('/')) at.length = 0;
      pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) return undefined;
    at.push(name);
  }
  const hostPath = join(root, ...at);
  try {
    return { hostPath, stats: lstatSync(hostPath) };
  } catch {
    return undefined;
  }
}

/** Whether a tree's file is one the instance could execute: a regular file with an x bit. */
export function executableInTree(root: string, sandboxPath: string): boolean {
  const hit = resolveInTree(root, sandboxPath);
  return !!hit && hit.stats.isFile() && (hit.stats.mode & 0o111) !== 0;
}

/**
 * argv[0] of an image's command as the sandbox sees it: a bare name searched on the image's
 * PATH inside the tree (like execvp), a relative path against the working directory, an absolute
 * path as it is. The name itself is kept, not the link's target: busybox-style programs read it.
 * Undefined when no executable file is there.
 */
export function findProgramInTree(root: string, program: string, path: string, workdir: string): string | undefined {
  if (program.includes('/')) {
    const inside = posix.resolve(workdir, program);
    return executableInTree(root, inside) ? inside : undefined;
  }
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue; // a relative PATH entry depends on the cwd: not searched
    const candidate = posix.join(dir, program);
    if (executableInTree(root, candidate)) return candidate;
  }
  return undefined;
}

/** Lines of a tree's account file (`/etc/passwd`, `/etc/group`) split at ':'; [] when it has none. */
export function readAccountFile(root: string, sandboxPath: string): string[][] {
  const hit = resolveInTree(root, sandboxPath);
  if (!hit || !hit.stats.isFile()) return [];
  // Opened without following a link (resolveInTree resolved them all), read up to the cap.
  const fd = openSync(hit.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_ACCOUNT_FILE) throw new FerryError('instance-start-failed', `the image's ${sandboxPath} is larger than ${MAX_ACCOUNT_FILE} bytes`);
    const buf = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read).toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } finally {
    closeSync(fd);
  }
}
