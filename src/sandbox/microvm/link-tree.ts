import { cp, link, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes `to` hold the tree of `from` without copying a byte: directories made again, files
 * hard-linked, symbolic links recreated as they are (never followed). A VM's package share is
 * exported read-only and made for one instance, so sharing the stored files' inodes costs
 * nothing and saves copying an image's hundreds of megabytes at each start. Across file systems
 * (EXDEV), or when asked (`copy`: the reader could write the stored files), it copies instead.
 */
export async function linkTree(from: string, to: string, o: { copy?: boolean } = {}): Promise<void> {
  if (!o.copy) {
    try {
      return await linkInto(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
  }
  await cp(from, to, { recursive: true, force: true, dereference: false, verbatimSymlinks: true });
}

async function linkInto(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  await mkdir(to, { recursive: true, mode: st.mode & 0o7777 });
  for (const e of await readdir(from, { withFileTypes: true })) {
    const [src, dst] = [join(from, e.name), join(to, e.name)];
    if (e.isDirectory()) await linkInto(src, dst);
    else if (e.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (e.isFile()) await link(src, dst);
    // Anything else (a device, a FIFO, a socket) has no place in a package: left out.
  }
}
