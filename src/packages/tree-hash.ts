import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { encodeListing } from './tree-listing.js';

/** One entry of a package tree, as hashed. */
export interface TreeEntry {
  /** Path relative to the tree root, `/`-separated. */
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Bytes of a regular file; 0 otherwise. */
  size: number;
  /** Owner-exec bit of a regular file. */
  exec: boolean;
  /** Target of a symlink. */
  target?: string;
  /** sha256 (hex) of a regular file's contents, once hashed. */
  digest?: string;
}

/**
 * Every entry below `dir` (not `dir` itself), sorted by the UTF-8 bytes of the relative path so
 * the order never depends on the file system or locale. Devices, fifos and sockets are refused.
 */
export async function walkTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (relDir: string): Promise<void> => {
    for (const name of await readdir(join(dir, relDir))) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const st = await lstat(join(dir, rel));
      if (st.isSymbolicLink()) {
        out.push({ rel, kind: 'symlink', size: 0, exec: false, target: await readlink(join(dir, rel)) });
      } else if (st.isDirectory()) {
        out.push({ rel, kind: 'dir', size: 0, exec: false });
        await visit(rel);
      } else if (st.isFile()) {
        out.push({ rel, kind: 'file', size: st.size, exec: (st.mode & 0o100) !== 0 });
      } else {
        throw new FerryError('archive-unsafe-entry', `the package holds a special file: ${rel}`);
      }
    }
  };
  await visit('');
  const keyed = out.map((e) => ({ e, key: Buffer.from(e.rel, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.e);
}

/**
 * Deterministic sha256 of a tree: paths, entry kinds, exec bits, file contents and symlink
 * targets. Mtimes, owners and other mode bits are left out on purpose, so the same upload always
 * lands on the same hash. It is the sha256 of the tree's listing (`tree-listing.ts`), which is
 * also how the tree is stored as blobs. Answers the entries (with their files' digests) too.
 */
export async function hashTree(dir: string): Promise<{ sha: string; size: number; entries: TreeEntry[] }> {
  const entries = await walkTree(dir);
  let size = 0;
  for (const e of entries) {
    if (e.kind !== 'file') continue;
    e.digest = await fileDigest(join(dir, e.rel));
    size += e.size;
  }
  return { sha: createHash('sha256').update(encodeListing(entries)).digest('hex'), size, entries };
}
async function fileDigest(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}
